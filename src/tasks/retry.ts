/**
 * Where a task goes when a claim on it ends without success. Pure functions of the task, its queue and the clock, so
 * the service, the queue driver and the tests share one rule:
 * - a rate limit's Retry-After is not the task's failure: the queue pauses until then and the attempt is given back
 *   (seed 003: a rate-limited task retried 319 times, each attempt hitting the same limit);
 * - a run lost to a daemon restart is not its failure either: back now, attempt given back;
 * - any other failure spends an attempt: back after an exponential backoff with full jitter (the jobs' rule), or to
 *   the dead letter once the queue's `retries` are spent (`retries: 3` → 4 attempts, like a job's).
 */
import type { QueueConfig } from '../config/types.ts';
import { backoffMs } from '../scheduler/retry-policy.ts';
import type { Task, TaskRelease } from '../store/types.ts';
import { iso } from '../util/time.ts';

/**
 * A charged failure: the next attempt after the queue's backoff, or the dead letter. (A spent `retries.budget` does
 * not change this: it holds the queue's retries back at claim time, the task itself is neither burned nor dead.)
 */
export function afterFailure(task: Pick<Task, 'attempt'>, queue: Pick<QueueConfig, 'retries'>, nowMs: number, random?: () => number): TaskRelease {
  if (task.attempt > queue.retries.max) return { to: 'dead' };
  return { to: 'queued', run_at: iso(nowMs + backoffMs(queue.retries, task.attempt, random)), charge: true };
}

/** The holder is gone (its run ended, its lease lapsed): back now, the attempt spent, or the dead letter. */
export function afterAbandon(task: Pick<Task, 'attempt'>, queue: Pick<QueueConfig, 'retries'>, nowMs: number): TaskRelease {
  return task.attempt > queue.retries.max ? { to: 'dead' } : { to: 'queued', run_at: iso(nowMs), charge: true };
}

/** Not the task's fault (a Retry-After, a daemon restart, a start that did not happen): due at `atMs`, free. */
export function uncharged(atMs: number): TaskRelease {
  return { to: 'queued', run_at: iso(atMs), charge: false };
}
