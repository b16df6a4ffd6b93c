import type { Migration } from './index.ts';

/**
 * Runs, job state and locks: SQLite's 0001 in PostgreSQL DDL.
 *
 * - Times are BIGINT epoch milliseconds, as in SQLite, so the two dialects compare, subtract and prune with the same
 *   arithmetic and return the same ISO strings (millisecond precision) at the store boundary.
 * - Names and ids that results are ordered by are COLLATE "C": byte order, as SQLite sorts, whatever the database's
 *   locale (an en_US collation would sort `job:b` and `job-a` differently); it also makes those indexes cheaper.
 * - `paused` is a BOOLEAN; `pid_start` (clock ticks since boot) is BIGINT.
 * - The indexes are SQLite's, for the same queries; locks_run serves `DELETE FROM locks WHERE run_id = $1` at every
 *   run end and the cascade when runs are pruned (PostgreSQL does not index a referencing column by itself).
 */
export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE runs (
  id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  job            TEXT COLLATE "C" NOT NULL,
  attempt        INTEGER NOT NULL CHECK (attempt >= 1),
  status         TEXT    NOT NULL CHECK (status IN
                   ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'killed', 'lost', 'skipped')),
  reason         TEXT,
  "trigger"      TEXT    NOT NULL,
  exit_code      INTEGER,
  signal         TEXT,
  scheduled_at   BIGINT  NOT NULL,
  started_at     BIGINT,
  ended_at       BIGINT,
  duration_ms    BIGINT,
  pid            INTEGER,
  degraded       TEXT,
  orphans_killed INTEGER NOT NULL DEFAULT 0,
  node           TEXT    NOT NULL,
  chain_id       TEXT    NOT NULL,
  error          TEXT
);

CREATE INDEX runs_job_id ON runs (job, id);
CREATE INDEX runs_status_scheduled ON runs (status, scheduled_at);
CREATE INDEX runs_chain ON runs (chain_id);

CREATE TABLE job_state (
  job          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  paused       BOOLEAN NOT NULL DEFAULT false,
  last_fire_at BIGINT
);

CREATE TABLE locks (
  name        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  token       TEXT    NOT NULL,
  run_id      TEXT COLLATE "C" REFERENCES runs (id) ON DELETE CASCADE,
  pid         INTEGER NOT NULL,
  pid_start   BIGINT,
  node        TEXT    NOT NULL,
  acquired_at BIGINT  NOT NULL,
  expires_at  BIGINT
);
CREATE INDEX locks_run ON locks (run_id);
`,
};
