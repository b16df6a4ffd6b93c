/**
 * The PostgreSQL store's task-queue methods (issue 7), attached to PostgresStore like store-watch.ts: each is a thin
 * step over tasks.ts. A claim and a fenced step are single statements in autocommit (the claim a server-side function,
 * the step one UPDATE fenced in its WHERE clause; a complete with the next claim one call of a function); a reap and a prune run in one transaction.
 */
import type { TaskStore } from '../task-types.ts';
import type { StoreAccess } from './store-watch.ts';
import {
  bindTaskRow,
  claimTaskRows,
  completeAndClaimRows,
  completeTaskRow,
  countTaskRows,
  extendTaskRow,
  getQueueBudgetRow,
  getQueueStateRow,
  getTaskRow,
  insertTaskRow,
  listTaskRows,
  nextExpiryRow,
  pauseQueueRow,
  pruneTaskRows,
  reapAllRows,
  releaseTaskRow,
  requeueTaskRow,
} from './tasks.ts';

export function taskMethods({ run, tx }: StoreAccess): TaskStore {
  return {
    enqueueTask: async (task) => run((db) => insertTaskRow(db, task)),
    claimTask: async (request) => run((db) => claimTaskRows(db, request)),
    extendTask: async (id, fence, leaseMs, now) => run((db) => extendTaskRow(db, id, fence, leaseMs, now)),
    completeTask: async (id, fence, result, now) => run((db) => completeTaskRow(db, id, fence, result, now)),
    completeTaskAndClaim: async (id, fence, result, now, next) => run((db) => completeAndClaimRows(db, id, fence, result, now, next)),
    releaseTask: async (id, fence, release, error, now) => run((db) => releaseTaskRow(db, id, fence, release, error, now)),
    bindTaskToRun: async (id, leaseToken, runId, now) => run((db) => bindTaskRow(db, id, leaseToken, runId, now)),
    reapExpiredTasks: async (now, retriesOf) => tx((db) => reapAllRows(db, now, retriesOf)),
    nextLeaseExpiry: async () => run((db) => nextExpiryRow(db)),
    requeueTask: async (id, now) => run((db) => requeueTaskRow(db, id, now)),
    getTask: async (id) => run((db) => getTaskRow(db, id)),
    listTasks: async (query) => run((db) => listTaskRows(db, query)),
    countTasks: async () => run((db) => countTaskRows(db)),
    getQueueState: async (queue) => run((db) => getQueueStateRow(db, queue)),
    pauseQueue: async (queue, until, reason) => run((db) => pauseQueueRow(db, queue, until, reason)),
    getQueueBudget: async (queue, budget, now) => run((db) => getQueueBudgetRow(db, queue, budget, now)),
    pruneTasks: async (olderThan) => tx(async (db) => ({ deleted: await pruneTaskRows(db, olderThan) })),
  };
}
