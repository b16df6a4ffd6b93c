/**
 * Task queues from job code (docs/tasks.md): enqueue, claim under a lease, extend, complete, fail — or let
 * `tasks.work` do the claiming, lease extending and completing around a handler.
 *
 * Delivery is at least once: a task whose worker dies (or whose lease lapses) is handed out again, so a handler can
 * run twice for one task. Make effects idempotent — the enqueue `key` makes enqueueing idempotent, and the task id
 * is a good key for what the handler writes elsewhere.
 *
 * @example
 * ```ts
 * import { tasks } from 'nightshift/sdk';
 * await tasks.enqueue('articles', { url }, { key: url, priority: 5 });       // → { id } (or { id, duplicate: true })
 *
 * const worker = tasks.work('articles', async (task) => {
 *   const res = await fetch(task.payload.url);
 *   if (res.status === 429) throw new RetryAfterError('rate limited', res.headers.get('retry-after') ?? '1m');
 *   return { words: (await res.text()).split(/\s+/).length };              // the task's result
 * }, { concurrency: 2, lease: '1m' });
 * process.on('SIGTERM', () => void worker.stop());                         // finishes what it holds, claims no more
 * ```
 *
 * Inside a run the SDK acts as the run (NIGHTSHIFT_URL, NIGHTSHIFT_RUN_TOKEN): what it claims belongs to the run and
 * goes back to the queue when the run ends. CLI twins: `nightshift task enqueue|claim|extend|complete|fail|list|requeue`.
 * HTTP: `/api/v1/queues/QUEUE/tasks`, `/api/v1/queues/QUEUE/claim`, `/api/v1/tasks/ID/{extend,complete,fail,requeue}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TASKS } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import { call, daemonFromEnv, durationArg, NightshiftError, type DaemonAddress } from './client.ts';

export type TaskState = 'queued' | 'running' | 'done' | 'dead';

/** A task as the daemon reports it. */
export interface TaskRecord<P = unknown> {
  id: string;
  queue: string;
  payload: P;
  priority: number;
  run_at: string;
  key: string | null;
  state: TaskState;
  /** Claims so far, this one included: 1 on the first attempt. */
  attempt: number;
  lease_expires_at: string | null;
  run_id: string | null;
  claimed_by: string | null;
  last_error: string | null;
  result: unknown;
  created_at: string;
  updated_at: string;
}

/** A declared queue as the daemon reports it (`GET /api/v1/queues/QUEUE`): settings, counts, pause, retry budget. */
export interface QueueInfo {
  queue: string;
  queued: number;
  running: number;
  done: number;
  dead: number;
  concurrency: number;
  /** `N/<window>ms`, or null. */
  rate: string | null;
  retries: number;
  retry_backoff_ms: number;
  retry_max_backoff_ms: number;
  /** `N/<window>ms`, or null. */
  retry_budget: string | null;
  lease_ms: number;
  /** No claims before this (a reported Retry-After); null when not paused. */
  paused_until: string | null;
  pause_reason: string | null;
  /** While the retry budget is spent, when a retry may go again: failed tasks wait (not dead) until then. */
  budget_exhausted_until: string | null;
}

/** A claimed task: `{ id, queue, payload, attempt }` and the rest of its record, with the claim's fencing `token`. */
export interface Task<P = unknown> extends TaskRecord<P> {
  token: string;
}

export interface EnqueueOptions {
  /** Higher runs first (default 0). */
  priority?: number;
  /** Not before: a Date, an ISO-8601 time, or a delay like '10m'. */
  runAt?: Date | string;
  /** Idempotency key: enqueueing a key the queue holds returns that task's id with `duplicate: true`. */
  key?: string;
}

export interface ClaimOptions {
  /** How long the claim lasts unless extended: '30s', or milliseconds (default: the queue's `lease`). */
  lease?: string | number;
  /** How long to wait for a task when none is due (default: do not wait; at most 60s). */
  wait?: string | number;
  signal?: AbortSignal;
}

export interface WorkOptions {
  /** Tasks handled at once (default 1). */
  concurrency?: number;
  /** Each claim's lease (default: the queue's); extended every third of it while the handler runs. */
  lease?: string | number;
  /** Told about failures around the handler (the daemon unreachable, a lapsed lease); default: console.error. */
  onError?: (error: unknown, task: Task | null) => void;
}

export interface TaskContext {
  /** Aborts when the claim is lost (its lease could not be extended): stop, the task will be handed out again. */
  signal: AbortSignal;
}

export interface Worker {
  /** Stops claiming; resolves when the tasks in hand are finished and reported. Safe to call twice. */
  stop(): Promise<void>;
  /** Tasks being handled now. */
  readonly active: number;
}

/**
 * Thrown by a handler (or passed to `fail`) when a rate limit answered: the queue pauses for `retryAfter` and the
 * task waits for it without spending one of its retries (seed 003: 319 retries against one rate limit).
 */
export class RetryAfterError extends Error {
  override name = 'RetryAfterError';
  readonly retryAfter: string | number;
  constructor(message: string, retryAfter: string | number) {
    super(message);
    this.retryAfter = retryAfter;
  }
}

export interface TasksApi {
  enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<{ id: string; duplicate?: true }>;
  claim<P = unknown>(queue: string, options?: ClaimOptions): Promise<Task<P> | null>;
  extend(id: string, lease?: string | number): Promise<TaskRecord>;
  complete(id: string, result?: unknown): Promise<TaskRecord>;
  fail(id: string, failure: { error: string | Error; retryAfter?: string | number }): Promise<TaskRecord>;
  requeue(id: string): Promise<TaskRecord>;
  get(id: string): Promise<TaskRecord>;
  list(queue: string, options?: { state?: TaskState; limit?: number }): Promise<TaskRecord[]>;
  /** The queue's settings, counts, pause and retry budget. */
  queue(queue: string): Promise<QueueInfo>;
  /** Inside a queue-driven run (`queue:` on the job): the task it was started for, else null. */
  current<P = unknown>(): Promise<TaskRecord<P> | null>;
  work<P = unknown>(queue: string, handler: (task: Task<P>, context: TaskContext) => unknown, options?: WorkOptions): Worker;
}

const WORKER_WAIT = durationArg(TASKS.worker_wait);
const WAIT_SLACK_MS = 10_000;
const MAX_ERROR_PAUSE_MS = 30_000;

/** The task API against the daemon `address()` names (the environment's, for `tasks`). */
export function createTasks(address: () => DaemonAddress): TasksApi {
  // Fencing tokens of the claims made through this API, sent with their steps so a lapsed claim cannot complete.
  const tokens = new Map<string, string>();
  const q = (queue: string) => `/queues/${encodeURIComponent(queue)}`;
  const t = (id: string) => `/tasks/${encodeURIComponent(id)}`;

  const api: TasksApi = {
    async enqueue(queue, payload, options = {}) {
      const body: Record<string, unknown> = { payload: payload ?? null };
      if (options.priority !== undefined) body.priority = options.priority;
      if (options.key !== undefined) body.key = options.key;
      if (options.runAt instanceof Date) body.run_at = options.runAt.toISOString();
      else if (typeof options.runAt === 'string') body[isDuration(options.runAt) ? 'delay' : 'run_at'] = options.runAt;
      return call(address(), 'POST', `${q(queue)}/tasks`, { body });
    },

    async claim<P>(queue: string, options: ClaimOptions = {}) {
      const body: Record<string, unknown> = {};
      if (options.lease !== undefined) body.lease = durationArg(options.lease);
      const waitMs = options.wait === undefined ? 0 : toMs(options.wait);
      if (waitMs > 0) body.wait = `${waitMs}ms`;
      const task = await call<Task<P> | null>(address(), 'POST', `${q(queue)}/claim`, {
        body,
        timeoutMs: waitMs + WAIT_SLACK_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (task !== null) tokens.set(task.id, task.token);
      return task;
    },

    async extend(id, lease) {
      const body = { token: tokens.get(id) ?? null, ...(lease !== undefined ? { lease: durationArg(lease) } : {}) };
      return call(address(), 'POST', `${t(id)}/extend`, { body });
    },

    async complete(id, result) {
      try {
        return await call<TaskRecord>(address(), 'POST', `${t(id)}/complete`, { body: { result: result ?? null, token: tokens.get(id) ?? null } });
      } finally {
        tokens.delete(id); // done, or refused (the claim is over either way)
      }
    },

    async fail(id, failure) {
      const error = failure.error instanceof Error ? failure.error.message : failure.error;
      const body: Record<string, unknown> = { error, token: tokens.get(id) ?? null };
      if (failure.retryAfter !== undefined) body.retry_after = durationArg(failure.retryAfter);
      try {
        return await call<TaskRecord>(address(), 'POST', `${t(id)}/fail`, { body });
      } finally {
        tokens.delete(id);
      }
    },

    requeue: (id) => call(address(), 'POST', `${t(id)}/requeue`, { body: {} }),
    get: (id) => call(address(), 'GET', t(id)),
    list: (queue, options = {}) => {
      const query = new URLSearchParams();
      if (options.state) query.set('state', options.state);
      if (options.limit) query.set('limit', String(options.limit));
      return call(address(), 'GET', `${q(queue)}/tasks${query.size ? `?${query}` : ''}`);
    },
    queue: (queue) => call(address(), 'GET', q(queue)),

    async current<P>() {
      const id = process.env.NIGHTSHIFT_TASK_ID;
      return id ? call<TaskRecord<P>>(address(), 'GET', t(id)) : null;
    },

    work(queue, handler, options = {}) {
      return startWorker(api, completeAndClaim, queue, handler as (task: Task, context: TaskContext) => unknown, options);
    },
  };

  // The worker's complete: with `next`, the daemon claims the worker's next task in the same step (one request and
  // one database round trip per task instead of two); null when it claimed none.
  const completeAndClaim: CompleteAndClaim = async (id, result, next) => {
    if (next === null) {
      await api.complete(id, result);
      return null;
    }
    const body = { result: result ?? null, token: tokens.get(id) ?? null, next: { queue: next.queue, ...(next.lease !== undefined ? { lease: durationArg(next.lease) } : {}) } };
    let done: TaskRecord & { next?: Task | null };
    try {
      done = await call<TaskRecord & { next?: Task | null }>(address(), 'POST', `${t(id)}/complete`, { body });
    } finally {
      tokens.delete(id);
    }
    const claimed = done.next ?? null;
    if (claimed !== null) tokens.set(claimed.id, claimed.token);
    return claimed;
  };
  return api;
}

/** Completes a task and, unless `next` is null, claims the next one from `next.queue` in the same step. */
type CompleteAndClaim = (id: string, result: unknown, next: { queue: string; lease?: string | number } | null) => Promise<Task | null>;

function startWorker(
  api: TasksApi,
  completeAndClaim: CompleteAndClaim,
  queue: string,
  handler: (task: Task, context: TaskContext) => unknown,
  options: WorkOptions,
): Worker {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new NightshiftError(`concurrency must be a whole number of 1 or more; got ${concurrency}`, 0, 'bad_request');
  const onError = options.onError ?? ((error: unknown) => console.error(`nightshift worker (${queue}):`, error instanceof Error ? error.message : error));
  const stopping = new AbortController();
  let active = 0;

  /** Handles one task and reports it; returns the next task its completion claimed (none once stopping). */
  const handle = async (task: Task): Promise<Task | null> => {
    active += 1;
    const lost = new AbortController();
    const leaseMs = task.lease_expires_at === null ? null : Date.parse(task.lease_expires_at) - Date.now();
    const extender = leaseMs === null ? null : setInterval(() => {
      api.extend(task.id, options.lease).catch((error: unknown) => {
        if (error instanceof NightshiftError && (error.code === 'lease_lost' || error.code === 'unknown_task')) lost.abort(error);
        onError(error, task);
      });
    }, Math.max(100, leaseMs * TASKS.extend_every));
    try {
      let result: unknown;
      try {
        result = await handler(task, { signal: lost.signal });
      } catch (error) {
        const retryAfter = (error as { retryAfter?: unknown } | null)?.retryAfter;
        const failure = { error: error instanceof Error ? error.message : String(error) };
        await api.fail(task.id, typeof retryAfter === 'string' || typeof retryAfter === 'number' ? { ...failure, retryAfter } : failure);
        return null;
      }
      const next = stopping.signal.aborted ? null : { queue, ...(options.lease !== undefined ? { lease: options.lease } : {}) };
      return await completeAndClaim(task.id, result, next);
    } catch (error) {
      onError(error, task);
      return null;
    } finally {
      if (extender) clearInterval(extender);
      active -= 1;
    }
  };

  const slot = async (): Promise<void> => {
    let pauseMs = 0;
    // A task the last completion claimed is handled even if stop() came meanwhile: it is this worker's to finish.
    let next: Task | null = null;
    while (next !== null || !stopping.signal.aborted) {
      let task: Task | null = next;
      next = null;
      if (task === null) {
        try {
          task = await api.claim(queue, { wait: WORKER_WAIT, signal: stopping.signal, ...(options.lease !== undefined ? { lease: options.lease } : {}) });
          pauseMs = 0;
        } catch (error) {
          if (stopping.signal.aborted) return;
          onError(error, null);
          // The daemon restarting, or a bad queue name: try again, ever more slowly, rather than spin.
          pauseMs = Math.min(MAX_ERROR_PAUSE_MS, Math.max(500, pauseMs * 2));
          await sleep(pauseMs, undefined, { signal: stopping.signal }).catch(() => undefined);
          continue;
        }
      }
      if (task !== null) next = await handle(task);
    }
  };

  const slots = Promise.all(Array.from({ length: concurrency }, () => slot()));
  return {
    async stop() {
      stopping.abort();
      await slots;
    },
    get active() {
      return active;
    },
  };
}

function isDuration(text: string): boolean {
  return /^\d+(\.\d+)?(ms|s|m|h|d)(\d+(\.\d+)?(ms|s|m|h|d))*$/.test(text.trim());
}

function toMs(value: string | number): number {
  return typeof value === 'number' ? value : parseDuration(value);
}

/** Task queues through the daemon this process finds in its environment (NIGHTSHIFT_URL and a token). */
export const tasks: TasksApi = createTasks(() => daemonFromEnv());
