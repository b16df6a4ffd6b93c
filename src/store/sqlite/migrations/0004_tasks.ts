import type { Migration } from './index.ts';

/**
 * Task queues (issue 7): durable tasks, the claims of rate-limited queues, and per-queue pauses.
 *
 * - tasks_claim serves the claim: `WHERE queue = ? AND state = 'queued' AND run_at <= ? ORDER BY priority DESC,
 *   run_at, id`, walked in index order; its (queue, state) prefix also counts a queue's running tasks (concurrency)
 *   and lists a queue's dead letter.
 * - tasks_lease finds lapsed leases and the next one to lapse (the reaper's one timer).
 * - tasks_key: an idempotency key is unique within its queue; a partial index, so keyless tasks cost nothing.
 * - tasks_run: the tasks a run holds, released when it ends.
 * - task_claims is append-only, written only for queues with a `rate:`, read by window, pruned with the history.
 * Times are INTEGER epoch ms, as in 0001; payload and result are JSON text.
 */
export const migration0004: Migration = {
  version: 4,
  name: 'tasks',
  sql: `
CREATE TABLE tasks (
  id               TEXT    NOT NULL PRIMARY KEY,
  queue            TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           INTEGER NOT NULL,
  key              TEXT,
  state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
  attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  lease_token      TEXT,
  lease_expires_at INTEGER,
  run_id           TEXT,
  claimed_by       TEXT,
  last_error       TEXT,
  result           TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX tasks_claim ON tasks (queue, state, priority DESC, run_at, id);
CREATE INDEX tasks_lease ON tasks (state, lease_expires_at);
CREATE UNIQUE INDEX tasks_key ON tasks (queue, key) WHERE key IS NOT NULL;
CREATE INDEX tasks_run ON tasks (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE task_claims (
  id    INTEGER PRIMARY KEY,
  queue TEXT    NOT NULL,
  at    INTEGER NOT NULL
);
CREATE INDEX task_claims_queue_at ON task_claims (queue, at);

CREATE TABLE queue_state (
  queue        TEXT    NOT NULL PRIMARY KEY,
  paused_until INTEGER,
  pause_reason TEXT
);
`,
};
