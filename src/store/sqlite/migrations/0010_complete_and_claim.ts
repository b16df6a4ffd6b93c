import type { Migration } from './index.ts';

/**
 * A task's claim and its completion each rewrote three index entries (the primary key, tasks_claim and tasks_lease,
 * both keyed on `state`). They become partial indexes of the states they serve, as on PostgreSQL's 0010 (which also
 * installs the complete-and-claim function, needless here: one writer does both in one transaction):
 * - tasks_queued: the claim's pick, walked in order (`WHERE queue = ? AND state = 'queued' AND run_at <= ? ORDER BY
 *   priority DESC, run_at, id`), and when the next task comes due;
 * - tasks_running: a queue's running count (concurrency) and lapsed leases, and the reaper's next expiry;
 * - tasks_dead: a queue's dead letter, newest first.
 */
export const migration0010: Migration = {
  version: 10,
  name: 'complete_and_claim',
  sql: `
DROP INDEX tasks_claim;
DROP INDEX tasks_lease;
CREATE INDEX tasks_queued ON tasks (queue, priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX tasks_running ON tasks (queue, lease_expires_at) WHERE state = 'running';
CREATE INDEX tasks_dead ON tasks (queue, id) WHERE state = 'dead';
`,
};
