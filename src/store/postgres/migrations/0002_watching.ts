import type { Migration } from './index.ts';

/**
 * Watching and alerting: SQLite's 0002 in PostgreSQL DDL (see that file for why each index exists).
 *
 * - pings.id is an identity column: the newest-first order and the trim by count go by it, as by SQLite's rowid.
 * - incidents.detail is TEXT holding JSON, not JSONB: JSONB refuses the \u0000 escape a captured stderr tail can
 *   contain, and nothing queries inside it.
 * - outbox_incident also serves the cascade when incidents are pruned.
 */
export const migration0002: Migration = {
  version: 2,
  name: 'watching',
  sql: `
ALTER TABLE runs ADD COLUMN heartbeat_at BIGINT;

CREATE TABLE checks (
  name            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  uuid            TEXT    NOT NULL UNIQUE,
  origin          TEXT    NOT NULL CHECK (origin IN ('job', 'config', 'created')),
  status          TEXT    NOT NULL CHECK (status IN ('new', 'up', 'down', 'paused')),
  created_at      BIGINT  NOT NULL,
  last_ping_at    BIGINT,
  last_success_at BIGINT,
  last_start_at   BIGINT,
  last_start_rid  TEXT,
  down_since      BIGINT,
  resumed_at      BIGINT,
  every_ms        BIGINT,
  grace_ms        BIGINT
);

CREATE TABLE pings (
  id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  check_name  TEXT COLLATE "C" NOT NULL REFERENCES checks (name) ON DELETE CASCADE,
  kind        TEXT    NOT NULL CHECK (kind IN ('start', 'success', 'fail', 'log', 'exit')),
  exit_code   INTEGER,
  rid         TEXT,
  body        TEXT,
  created_at  BIGINT  NOT NULL,
  duration_ms BIGINT
);
CREATE INDEX pings_check ON pings (check_name, id);

CREATE TABLE incidents (
  id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  kind             TEXT    NOT NULL,
  subject          TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('open', 'resolved')),
  opened_at        BIGINT  NOT NULL,
  resolved_at      BIGINT,
  summary          TEXT    NOT NULL,
  detail           TEXT    NOT NULL,
  last_notified_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (kind, subject) WHERE state = 'open';
CREATE INDEX incidents_subject ON incidents (kind, subject, id);
CREATE INDEX incidents_state ON incidents (state, id);

CREATE TABLE outbox (
  id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  incident_id TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  channel     TEXT COLLATE "C" NOT NULL,
  event       TEXT    NOT NULL,
  created_at  BIGINT  NOT NULL,
  due_at      BIGINT  NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'cancelled', 'failed')),
  sent_at     BIGINT
);
CREATE INDEX outbox_pending ON outbox (state, due_at);
CREATE INDEX outbox_incident ON outbox (incident_id);
`,
};
