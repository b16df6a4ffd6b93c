import type { Migration } from './index.ts';

/**
 * Task failures (issue 7, a queue's `retries.budget`): one row per charged failed attempt of a queue's tasks — a
 * failure that spends an attempt, a lapsed lease, a dead letter — so the budget's rolling window is counted from the
 * store and survives restarts. Append-only like task_claims, read by window through task_failures_queue_at, pruned
 * with the history. Times are INTEGER epoch ms.
 */
export const migration0006: Migration = {
  version: 6,
  name: 'task_failures',
  sql: `
CREATE TABLE task_failures (
  id    INTEGER PRIMARY KEY,
  queue TEXT    NOT NULL,
  at    INTEGER NOT NULL
);
CREATE INDEX task_failures_queue_at ON task_failures (queue, at);
`,
};
