import type { Migration } from './index.ts';

/**
 * Times are INTEGER epoch milliseconds (converted to ISO strings at the store boundary): they compare and subtract
 * as numbers, and port to PostgreSQL as BIGINT. Run ids are ULIDs, so `ORDER BY id` is creation order.
 *
 * Indexes are the ones the store's queries use, no more (each write pays for every index):
 * - runs_job_id:            history of a job, newest first (`WHERE job = ? ORDER BY id DESC`), retry-budget counts,
 *                           and pruning per job.
 * - runs_status_scheduled:  runs in a status (`running` at daemon start) and the scheduler's hot query, queued runs
 *                           due by now in due order (`WHERE status = 'queued' AND scheduled_at <= ?`).
 * - runs_chain:             `countLostInChain`.
 * locks is one row per held lock (a handful), so `DELETE FROM locks WHERE run_id = ?` needs no index.
 *
 * `status` is CHECK-constrained because the list of run states is part of the public contract; `reason` and
 * `trigger` are not, so adding a code needs no table rebuild (SQLite cannot alter a CHECK in place).
 * `trigger` is quoted everywhere: it is an SQL keyword in both dialects.
 */
export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE runs (
  id             TEXT    NOT NULL PRIMARY KEY,
  job            TEXT    NOT NULL,
  attempt        INTEGER NOT NULL CHECK (attempt >= 1),
  status         TEXT    NOT NULL CHECK (status IN
                   ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'killed', 'lost', 'skipped')),
  reason         TEXT,
  "trigger"      TEXT    NOT NULL,
  exit_code      INTEGER,
  signal         TEXT,
  scheduled_at   INTEGER NOT NULL,
  started_at     INTEGER,
  ended_at       INTEGER,
  duration_ms    INTEGER,
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
  job          TEXT    NOT NULL PRIMARY KEY,
  paused       INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  last_fire_at INTEGER
);

-- A lock held by a run goes with the run: finishing releases it, and pruning (which never touches running runs)
-- cannot leave a lock pointing at nothing.
CREATE TABLE locks (
  name        TEXT    NOT NULL PRIMARY KEY,
  token       TEXT    NOT NULL,
  run_id      TEXT    REFERENCES runs (id) ON DELETE CASCADE,
  pid         INTEGER NOT NULL,
  pid_start   INTEGER,
  node        TEXT    NOT NULL,
  acquired_at INTEGER NOT NULL,
  expires_at  INTEGER
);
`,
};
