/**
 * The SQLite store's task-queue methods (issue 7), attached to SqliteStore like store-watch.ts: each is a thin step
 * over tasks.ts, run through the store's error translation and, where it reads before it writes, an IMMEDIATE
 * transaction (the write lock is taken before the read, so two processes cannot both claim one task).
 */
import type { TaskStore } from '../task-types.ts';
import type { StoreAccess } from './store-watch.ts';
import {
  bindTaskRow,
  claimTaskRows,
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

export type TaskMethods = TaskStore;

export function taskMethods(db: StoreAccess): TaskMethods {
  return {
    enqueueTask: async (task) => db.run(() => db.tx(() => insertTaskRow(db.sql, task))),
    claimTask: async (request) => db.run(() => db.tx(() => claimTaskRows(db.sql, request))),
    extendTask: async (id, fence, leaseMs, now) => db.run(() => db.tx(() => extendTaskRow(db.sql, id, fence, leaseMs, now))),
    completeTask: async (id, fence, result, now) => db.run(() => db.tx(() => completeTaskRow(db.sql, id, fence, result, now))),
    completeTaskAndClaim: async (id, fence, result, now, next) =>
      db.run(() =>
        db.tx(() => {
          const completed = completeTaskRow(db.sql, id, fence, result, now);
          return { completed, next: completed.ok ? claimTaskRows(db.sql, next) : null };
        }),
      ),
    releaseTask: async (id, fence, release, error, now) =>
      db.run(() => db.tx(() => releaseTaskRow(db.sql, id, fence, release, error, now))),
    bindTaskToRun: async (id, leaseToken, runId, now) => db.run(() => bindTaskRow(db.sql, id, leaseToken, runId, now)),
    reapExpiredTasks: async (now, retriesOf) => db.run(() => db.tx(() => reapAllRows(db.sql, now, retriesOf))),
    nextLeaseExpiry: async () => db.run(() => nextExpiryRow(db.sql)),
    requeueTask: async (id, now) => db.run(() => requeueTaskRow(db.sql, id, now)),
    getTask: async (id) => db.run(() => getTaskRow(db.sql, id)),
    listTasks: async (query) => db.run(() => listTaskRows(db.sql, query)),
    countTasks: async () => db.run(() => countTaskRows(db.sql)),
    getQueueState: async (queue) => db.run(() => getQueueStateRow(db.sql, queue)),
    pauseQueue: async (queue, until, reason) => db.run(() => pauseQueueRow(db.sql, queue, until, reason)),
    getQueueBudget: async (queue, budget, now) => db.run(() => getQueueBudgetRow(db.sql, queue, budget, now)),
    pruneTasks: async (olderThan) => db.run(() => db.tx(() => ({ deleted: pruneTaskRows(db.sql, olderThan) }))),
  };
}
