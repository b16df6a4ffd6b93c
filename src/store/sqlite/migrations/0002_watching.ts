import type { Migration } from './index.ts';

/**
 * Watching and alerting (issue 4): checks and their pings, incidents, the notification outbox, and the last
 * heartbeat of a running run.
 *
 * - checks.uuid is UNIQUE: a ping URL names exactly one check.
 * - pings are kept per check up to a count (the store trims in the insert's transaction); `pings_check` serves both
 *   the newest-first listing and the trim.
 * - incidents: at most one open incident per (kind, subject) — a partial unique index, so a race between two writers
 *   cannot open the same condition twice. `incidents_subject` finds the latest one (resolved included) for flap
 *   damping; `incidents_state` lists the open ones.
 * - outbox: the hot query is "pending entries due by now, in due order" (`outbox_pending`).
 * Times are INTEGER epoch ms, as in 0001.
 */
export const migration0002: Migration = {
  version: 2,
  name: 'watching',
  sql: `
ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;

CREATE TABLE checks (
  name            TEXT    NOT NULL PRIMARY KEY,
  uuid            TEXT    NOT NULL UNIQUE,
  origin          TEXT    NOT NULL CHECK (origin IN ('job', 'config', 'created')),
  status          TEXT    NOT NULL CHECK (status IN ('new', 'up', 'down', 'paused')),
  created_at      INTEGER NOT NULL,
  last_ping_at    INTEGER,
  last_success_at INTEGER,
  last_start_at   INTEGER,
  last_start_rid  TEXT,
  down_since      INTEGER,
  resumed_at      INTEGER,
  every_ms        INTEGER,
  grace_ms        INTEGER
);

CREATE TABLE pings (
  id          INTEGER PRIMARY KEY,
  check_name  TEXT    NOT NULL REFERENCES checks (name) ON DELETE CASCADE,
  kind        TEXT    NOT NULL CHECK (kind IN ('start', 'success', 'fail', 'log', 'exit')),
  exit_code   INTEGER,
  rid         TEXT,
  body        TEXT,
  created_at  INTEGER NOT NULL,
  duration_ms INTEGER
);
CREATE INDEX pings_check ON pings (check_name, id);

CREATE TABLE incidents (
  id               TEXT    NOT NULL PRIMARY KEY,
  kind             TEXT    NOT NULL,
  subject          TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('open', 'resolved')),
  opened_at        INTEGER NOT NULL,
  resolved_at      INTEGER,
  summary          TEXT    NOT NULL,
  detail           TEXT    NOT NULL,
  last_notified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (kind, subject) WHERE state = 'open';
CREATE INDEX incidents_subject ON incidents (kind, subject, id);
CREATE INDEX incidents_state ON incidents (state, id);

CREATE TABLE outbox (
  id          TEXT    NOT NULL PRIMARY KEY,
  incident_id TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  channel     TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  due_at      INTEGER NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'cancelled', 'failed')),
  sent_at     INTEGER
);
CREATE INDEX outbox_pending ON outbox (state, due_at);
CREATE INDEX outbox_incident ON outbox (incident_id);
`,
};
