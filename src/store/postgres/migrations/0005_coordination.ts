import type { Migration } from './index.ts';

/**
 * Coordination: SQLite's 0005 in PostgreSQL DDL — shared state by key and its audit log (named locks are rows of
 * `locks`). `value` is JSON text; state_log.id is an identity column; `state_log_key_version` keeps one entry per
 * version and serves the newest-first listing and the trim.
 */
export const migration0005: Migration = {
  version: 5,
  name: 'coordination',
  sql: `
CREATE TABLE state (
  key            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  value          TEXT    NOT NULL,
  version        INTEGER NOT NULL CHECK (version >= 1),
  updated_at     BIGINT  NOT NULL,
  updated_by_job TEXT,
  updated_by_run TEXT
);

CREATE TABLE state_log (
  id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key        TEXT COLLATE "C" NOT NULL,
  version    INTEGER NOT NULL,
  value      TEXT,
  size_bytes INTEGER NOT NULL,
  job        TEXT,
  run_id     TEXT,
  at         BIGINT  NOT NULL
);
CREATE UNIQUE INDEX state_log_key_version ON state_log (key, version);
`,
};
