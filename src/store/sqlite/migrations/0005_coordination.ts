import type { Migration } from './index.ts';

/**
 * Coordination (issue 7): shared state by key, and its audit log. Named locks need no table of their own: they are
 * rows of `locks` named `lock:<name>` (a run's are released with it by finishRun, like its job lock).
 *
 * - state is one row per key; `value` is JSON text. `version` counts writes from 1, so a compare-and-set is
 *   `UPDATE … WHERE key = ? AND version = ?` inside the write transaction.
 * - state_log is append-only per key and trimmed to the newest N entries per key on each write, so it is bounded
 *   however often a key changes. `run_id` is not a reference to runs: the audit outlives the pruned history.
 *   `value` is NULL when the value was larger than the log keeps (`size_bytes` says how large).
 *   `state_log_key_version` serves "the log of a key, newest first", the trim, and keeps one entry per version.
 */
export const migration0005: Migration = {
  version: 5,
  name: 'coordination',
  sql: `
CREATE TABLE state (
  key            TEXT    NOT NULL PRIMARY KEY,
  value          TEXT    NOT NULL,
  version        INTEGER NOT NULL CHECK (version >= 1),
  updated_at     INTEGER NOT NULL,
  updated_by_job TEXT,
  updated_by_run TEXT
);

CREATE TABLE state_log (
  id         INTEGER PRIMARY KEY,
  key        TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  value      TEXT,
  size_bytes INTEGER NOT NULL,
  job        TEXT,
  run_id     TEXT,
  at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX state_log_key_version ON state_log (key, version);
`,
};
