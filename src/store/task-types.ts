/**
 * The store's task queues (issue 7): durable tasks claimed under a lease, retried with backoff, dead-lettered after
 * their queue's retries, and the per-queue state that rate limits and 429 pauses need. Part of the Store contract in
 * types.ts (which re-exports all of this); kept apart to keep each file readable.
 *
 * Like the rest of the store, nothing here reads the clock or draws random numbers: times, ids, lease tokens and
 * retry decisions come from the caller (src/tasks/), so a PostgreSQL dialect implements the same semantics and tests
 * need no fake timers. A claim is one write transaction; every later step on a claimed task names the claim it acts
 * for (a `TaskFence`), so a late complete from a worker whose lease ran out is refused instead of overwriting the work
 * of whoever claimed the task next.
 */

export const TASK_STATES = ['queued', 'running', 'done', 'dead'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface Task {
  /** A ULID: sortable by creation. */
  id: string;
  queue: string;
  /** The JSON value given to enqueue. */
  payload: unknown;
  /** Higher runs first; 0 by default. */
  priority: number;
  /** Not claimed before this (enqueue's `runAt`, or a retry's backoff, or the end of a queue pause). */
  run_at: string;
  /** The idempotency key, unique within the queue while the task is kept; null when none was given. */
  key: string | null;
  state: TaskState;
  /** Claims so far, the current one included (0 before the first). */
  attempt: number;
  /** The current claim's fencing token; null unless running. */
  lease_token: string | null;
  /** When the current claim lapses unless extended; null while a run holds it for its whole life (queue: on a job). */
  lease_expires_at: string | null;
  /** The run holding (or that last held) the task: a queue-driven run, or a run whose own token claimed it. */
  run_id: string | null;
  /** Who claimed it last: `run:<id>`, `job:<name>` (a queue-driven run), `api` (the API token). */
  claimed_by: string | null;
  last_error: string | null;
  /** The JSON value given to complete; null until done. */
  result: unknown;
  created_at: string;
  updated_at: string;
}

export interface NewTask {
  id: string;
  queue: string;
  /** JSON text (the caller serialised and size-checked it). */
  payload_json: string;
  priority: number;
  run_at: string;
  key: string | null;
  created_at: string;
}

/** What limits a claim; all from the queue's config. */
export interface QueueLimits {
  /** Tasks of the queue running at once. */
  concurrency: number;
  /** At most `count` claims in any `perMs` window (counted from the store, so it survives restarts); null: none. */
  rate: { count: number; perMs: number } | null;
  /** Retries after the first attempt: a lapsed lease on attempt > retries sends the task to the dead letter. */
  retries: number;
  /**
   * The queue's retry budget: while `count` charged failures of its tasks fall in the last `perMs` (counted from the
   * store), only first attempts are claimed and the tasks waiting for a retry wait on; null: none.
   */
  budget: { count: number; perMs: number } | null;
}

export interface ClaimRequest {
  queue: string;
  now: string;
  /** The new claim's fencing token (unique per claim). */
  lease_token: string;
  /** The lease; null: held until released by the run that holds it. */
  lease_ms: number | null;
  claimed_by: string;
  run_id: string | null;
  limits: QueueLimits;
}

/**
 * Why a claim found nothing: no due task, the queue is full, its rate is spent, it is paused, or only retries are due
 * and its retry budget is spent.
 */
export type ClaimBlock = 'empty' | 'concurrency' | 'rate' | 'paused' | 'budget';

export type ClaimResult =
  | { task: Task; blocked: null; retry_at: null }
  /** `retry_at`: the earliest moment a claim can succeed on time alone (null: only a new task or a finished one). */
  | { task: null; blocked: ClaimBlock; retry_at: string | null };

/**
 * Which claim a step acts for. `lease_token`: exactly that claim. `run_id`: whatever claim that run holds. Both may
 * be given; a step on a task that is not `running`, or whose claim does not match, is refused ('lease_lost').
 */
export interface TaskFence {
  lease_token?: string | null;
  run_id?: string | null;
}

/** What a step on a claimed task did: `ok` with the task after it, or why it was refused. */
export type TaskStepResult =
  | { ok: true; task: Task }
  | { ok: false; reason: 'not_found' | 'lease_lost'; task: Task | null };

/**
 * What `completeTaskAndClaim` did: the complete's result, and — only when the task was completed — the claim that
 * followed it in the same transaction (null when the complete was refused: nothing was claimed).
 */
export interface CompleteAndClaimResult {
  completed: TaskStepResult;
  next: ClaimResult | null;
}

/** Where a released claim sends its task. */
export type TaskRelease =
  /** Back to the queue, due at `run_at`. `charge: false` gives the attempt back (a 429 pause, a run lost to a restart). */
  | { to: 'queued'; run_at: string; charge: boolean }
  /** To the dead letter: its retries are spent. */
  | { to: 'dead' };

export interface TaskListQuery {
  queue?: string;
  states?: readonly TaskState[];
  run_id?: string;
  /** At most this many (default 100), newest first. */
  limit?: number;
}

export interface QueueState {
  queue: string;
  /** No claims before this (a worker reported a rate limit's Retry-After); null when not paused. */
  paused_until: string | null;
  pause_reason: string | null;
}

/** A queue's retry budget now: charged failures in the window, and until when its retries are held (null: they are not). */
export interface QueueBudget {
  queue: string;
  failures: number;
  exhausted_until: string | null;
}

export interface QueueCounts {
  queue: string;
  queued: number;
  running: number;
  done: number;
  dead: number;
}

export interface TaskStore {
  /**
   * Adds a task. When the queue already holds a task with the same `key`, nothing is written and that task is
   * returned with `duplicate: true`.
   */
  enqueueTask(task: NewTask): Promise<{ task: Task; duplicate: boolean }>;
  /**
   * One write transaction: lapsed leases of the queue go back (or to the dead letter), then — unless the queue is
   * paused, full or past its rate — the best due task (highest priority, then earliest run_at, then oldest) becomes
   * `running` under a fresh lease with its attempt counted. A claim of a rate-limited queue is recorded for the window.
   */
  claimTask(request: ClaimRequest): Promise<ClaimResult>;
  /** Sets the lease to `now + lease_ms` (a lease held by a run stays held by it). */
  extendTask(id: string, fence: TaskFence, lease_ms: number, now: string): Promise<TaskStepResult>;
  /** Marks the task done with its result (JSON text, or null). */
  completeTask(id: string, fence: TaskFence, result_json: string | null, now: string): Promise<TaskStepResult>;
  /**
   * `completeTask`, then, if the task was completed, `claimTask(next)` in the same transaction: a worker's loop in
   * one round trip per task (BullMQ's workers complete-and-fetch the same way). A refused complete claims nothing.
   */
  completeTaskAndClaim(id: string, fence: TaskFence, result_json: string | null, now: string, next: ClaimRequest): Promise<CompleteAndClaimResult>;
  /**
   * Ends the claim: the task goes back to the queue or to the dead letter, with `error` as its last error. A charged
   * release (`charge: true`, or the dead letter) is recorded as a failed attempt of the queue, in the same
   * transaction, for its retry budget; so is every lapsed lease a claim or a reap puts back.
   */
  releaseTask(id: string, fence: TaskFence, release: TaskRelease, error: string | null, now: string): Promise<TaskStepResult>;
  /** Hands a claim to the run that will work on it: `run_id` set, the lease held for the run's life. */
  bindTaskToRun(id: string, lease_token: string, run_id: string, now: string): Promise<boolean>;
  /**
   * Lapsed leases of every queue (lease_expires_at before `now`) go back to the queue, due now, or — when
   * `retriesOf(queue)` retries are spent — to the dead letter. Returns the tasks moved.
   */
  reapExpiredTasks(now: string, retriesOf: (queue: string) => number): Promise<Task[]>;
  /** When the next lease lapses; null when none is running under a lease. */
  nextLeaseExpiry(): Promise<string | null>;
  /** A dead (or done) task back to the queue, due `now`, with its attempts reset; null when it is queued or running. */
  requeueTask(id: string, now: string): Promise<Task | null>;
  getTask(id: string): Promise<Task | null>;
  listTasks(query: TaskListQuery): Promise<Task[]>;
  /** Tasks per state, for every queue that has any. */
  countTasks(): Promise<QueueCounts[]>;
  getQueueState(queue: string): Promise<QueueState>;
  /** Pauses claims until `until` (a later pause wins over an earlier one; an earlier one never shortens it). */
  pauseQueue(queue: string, until: string, reason: string): Promise<QueueState>;
  /** Charged failures of `queue` in the window ending `now`, and until when its retries are held by `budget`. */
  getQueueBudget(queue: string, budget: { count: number; perMs: number }, now: string): Promise<QueueBudget>;
  /** Deletes done tasks finished before `olderThan`, and recorded claims and failures older than it. */
  pruneTasks(olderThan: string): Promise<{ deleted: number }>;
}
