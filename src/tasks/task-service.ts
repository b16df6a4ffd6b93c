/**
 * The task queues' operations as the API, the SDK and the CLI see them (issue 7): enqueue with payload, priority,
 * run_at and an idempotency key; claim under a lease (optionally waiting for a task: a long-poll woken by the enqueue
 * itself, not by polling); extend, complete, fail; requeue from the dead letter. Every step on a claim is fenced by
 * that claim (its token, and for a run its own id), so a worker whose lease lapsed cannot overwrite the work of the
 * one that claimed the task next, and a run cannot act on another run's claim.
 *
 * Delivery is at least once: a task whose holder dies goes back when its lease lapses (or when its run ends), so a
 * task can run twice; the idempotency key is the tool for effects that must not happen twice (docs/tasks.md).
 */
import { randomUUID } from 'node:crypto';
import { DEFAULTS, TASKS } from '../config/defaults.ts';
import { expandRetries } from '../config/shorthands.ts';
import type { QueueConfig, ResolvedConfig } from '../config/types.ts';
import { parseDuration } from '../config/units.ts';
import type { ClaimRequest, ClaimResult, QueueCounts, QueueState, Store, Task, TaskFence, TaskRelease, TaskState } from '../store/types.ts';
import { newRunId } from '../util/ids.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';
import { QueueGate, type ClaimHolder } from './queue-gate.ts';
import { LeaseReaper } from './lease-reaper.ts';
import { QueueBudgets, type BudgetIncidents } from './queue-budget.ts';
import { afterFailure, uncharged } from './retry.ts';
import { jsonOf, leaseLost, resultJson, TaskError, unknownTask, type TaskActor } from './types.ts';

export const MAX_WAIT_MS = parseDuration(TASKS.max_wait);

export interface TaskServiceDeps {
  store: Store;
  logger: Logger;
  config: () => ResolvedConfig;
  /** Where a spent retry budget opens its incident (the daemon's incident desk); absent: none is opened. */
  incidents?: BudgetIncidents;
  now?: () => number;
}

export interface EnqueueInput {
  payload: unknown;
  priority?: number;
  /** Epoch ms; not claimed before. */
  runAtMs?: number;
  key?: string | null;
}

export interface ClaimInput {
  /** The lease; the queue's `lease` when absent. */
  leaseMs?: number;
  /** How long to wait for a task when none is due (0: answer at once). */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface QueueSummary extends QueueCounts {
  concurrency: number;
  rate: string | null;
  retries: number;
  retry_backoff_ms: number;
  retry_max_backoff_ms: number;
  /** `retries.budget` as `N/<window>ms`, or null. */
  retry_budget: string | null;
  lease_ms: number;
  paused_until: string | null;
  pause_reason: string | null;
  /** While the retry budget is spent: when the window lets a retry through again; null otherwise. */
  budget_exhausted_until: string | null;
}

export class TaskService {
  readonly #deps: TaskServiceDeps;
  readonly #now: () => number;
  readonly #gates = new Map<string, QueueGate>();
  readonly reaper: LeaseReaper;
  readonly budgets: QueueBudgets;
  #closed = false;

  constructor(deps: TaskServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.reaper = new LeaseReaper({
      store: deps.store,
      logger: deps.logger,
      retriesOf: (queue) => this.settingsOf(queue).retries.max,
      onReaped: (queues) => queues.forEach((queue) => void this.#charged(queue)),
      now: this.#now,
    });
    this.budgets = new QueueBudgets({
      store: deps.store,
      logger: deps.logger,
      incidents: deps.incidents ?? null,
      settingsOf: (queue) => this.settingsOf(queue),
      declared: () => Object.keys(deps.config().queues),
      onFreed: (queue) => this.poke(queue),
      now: this.#now,
    });
  }

  get store(): Store {
    return this.#deps.store;
  }

  async start(): Promise<void> {
    await this.reaper.start();
    await this.budgets.start();
  }

  /** A config reload: retry budgets given, changed or removed take effect. */
  async reload(): Promise<void> {
    await this.budgets.reload();
  }

  /** Shutdown: waiting claims are answered with null, timers stop. Idempotent. */
  async stop(): Promise<void> {
    this.#closed = true;
    this.reaper.stop();
    this.budgets.stop();
    await Promise.all([...this.#gates.values()].map((gate) => gate.close()));
  }

  /** The declared queue, or an error listing the declared ones. */
  queue(name: string): QueueConfig {
    const queues = this.#deps.config().queues;
    const queue = Object.hasOwn(queues, name) ? queues[name] : undefined;
    if (queue === undefined) {
      const names = Object.keys(queues);
      const list = names.length ? `declared queues: ${names.join(', ')}` : 'no queues are declared; declare one under queues: in the config';
      throw new TaskError('unknown_queue', `no queue named '${name}' (${list})`);
    }
    return queue;
  }

  gate(queue: string): QueueGate {
    let gate = this.#gates.get(queue);
    if (gate === undefined) {
      gate = new QueueGate({
        claim: (holder) => this.#claimNow(queue, holder),
        giveBack: async (task) => void (await this.#release(task, { lease_token: task.lease_token }, uncharged(this.#now()), null)),
        logger: this.#deps.logger,
        now: this.#now,
      });
      this.#gates.set(queue, gate);
    }
    return gate;
  }

  /** Every queue with someone waiting looks again (another node enqueued work: src/cluster/). */
  pokeAll(): void {
    for (const gate of this.#gates.values()) gate.poke();
  }

  /** Something changed in `queue` that may let a waiting claim succeed. */
  poke(queue: string): void {
    this.#gates.get(queue)?.poke();
  }

  async enqueue(queueName: string, input: EnqueueInput): Promise<{ id: string; duplicate?: true }> {
    const queue = this.queue(queueName);
    const payloadJson = jsonOf(input.payload, 'payload');
    const priority = input.priority ?? 0;
    if (!Number.isSafeInteger(priority)) throw new TaskError('bad_request', `priority must be a whole number (higher runs first); got ${priority}`);
    const key = input.key ?? null;
    if (key !== null && (typeof key !== 'string' || key === '' || key.length > TASKS.max_key)) {
      throw new TaskError('bad_request', `key must be a non-empty string of at most ${TASKS.max_key} characters`);
    }
    const now = this.#now();
    const { task, duplicate } = await this.#deps.store.enqueueTask({
      id: newRunId(now),
      queue: queue.name,
      payload_json: payloadJson,
      priority,
      run_at: iso(input.runAtMs ?? now),
      key,
      created_at: iso(now),
    });
    if (duplicate) return { id: task.id, duplicate: true };
    this.poke(queue.name);
    return { id: task.id };
  }

  async claim(actor: TaskActor, queueName: string, input: ClaimInput = {}): Promise<Task | null> {
    const queue = this.queue(queueName);
    if (actor.kind === 'run' && (await this.#deps.store.getRun(actor.runId))?.status !== 'running') {
      throw new TaskError('not_running', `run ${actor.runId} is not running: a run's token claims tasks only while it runs`);
    }
    const holder: ClaimHolder = { ...holderOf(actor), lease_ms: input.leaseMs ?? queue.leaseMs };
    const waitMs = Math.min(input.waitMs ?? 0, MAX_WAIT_MS);
    return this.gate(queue.name).take(holder, this.#closed ? 0 : waitMs, input.signal);
  }

  async extend(actor: TaskActor, id: string, leaseMs: number | undefined, token?: string | null): Promise<Task> {
    const task = await this.#held(actor, id, token);
    const lease = leaseMs ?? this.settingsOf(task.queue).leaseMs;
    const result = await this.#deps.store.extendTask(id, this.#fence(actor, task, token), lease, iso(this.#now()));
    const extended = this.#stepped(result, id);
    if (extended.lease_expires_at !== null) this.reaper.consider(Date.parse(extended.lease_expires_at));
    return extended;
  }

  /** Completes the task (via #complete: the held task as #held read it, fenced by that claim). */
  async complete(actor: TaskActor, id: string, result: unknown, token?: string | null): Promise<Task> {
    return this.#complete(actor, await this.#held(actor, id, token), resultJson(result), token);
  }

  async #complete(actor: TaskActor, task: Task, json: string | null, token: string | null | undefined): Promise<Task> {
    const done = this.#stepped(await this.#deps.store.completeTask(task.id, this.#fence(actor, task, token), json, iso(this.#now())), task.id);
    this.poke(task.queue);
    return done;
  }

  /**
   * `complete`, then a claim from `next.queue` in the same store call (one round trip: a worker's loop). The claim never
   * waits; none is made (next: null) while consumers wait on that queue here (they came first: the completion pokes
   * them), while the service stops, or for a run that has ended.
   */
  async completeAndClaim(actor: TaskActor, id: string, result: unknown, token: string | null, next: { queue: string; leaseMs?: number }): Promise<{ task: Task; next: Task | null }> {
    const task = await this.#held(actor, id, token);
    const queue = this.queue(next.queue);
    const json = resultJson(result);
    const gate = this.#gates.get(queue.name);
    const runGone = actor.kind === 'run' && (await this.#deps.store.getRun(actor.runId))?.status !== 'running';
    if (this.#closed || runGone || (gate !== undefined && gate.waiting > 0)) return { task: await this.#complete(actor, task, json, token), next: null };

    const request = this.#claimRequest(queue.name, { ...holderOf(actor), lease_ms: next.leaseMs ?? queue.leaseMs });
    const step = await this.#deps.store.completeTaskAndClaim(id, this.#fence(actor, task, token), json, request.now, request);
    const done = this.#stepped(step.completed, id);
    this.poke(task.queue);
    return { task: done, next: step.next === null ? null : (await this.#claimed(queue.name, step.next)).task };
  }

  /**
   * A failed attempt. With `retryAfterMs` (a rate limit's Retry-After) the whole queue pauses until then and the task
   * waits for it without spending an attempt; otherwise it is retried after a backoff, or dead once its retries are
   * spent.
   */
  async fail(actor: TaskActor, id: string, failure: { error: string; retryAfterMs?: number | null; token?: string | null }): Promise<Task> {
    const task = await this.#held(actor, id, failure.token);
    const now = this.#now();
    let release: TaskRelease;
    if (failure.retryAfterMs != null) {
      const until = now + failure.retryAfterMs;
      await this.pause(task.queue, until, `a worker reported Retry-After (task ${task.id}): ${failure.error}`);
      release = uncharged(until);
    } else {
      release = afterFailure(task, this.settingsOf(task.queue), now);
    }
    return this.#release(task, this.#fence(actor, task, failure.token), release, failure.error);
  }

  /** No claims on `queue` before `untilMs` (a 429); a later pause is kept. */
  async pause(queue: string, untilMs: number, reason: string): Promise<QueueState> {
    const state = await this.#deps.store.pauseQueue(queue, iso(untilMs), reason);
    this.#deps.logger.warn({ queue, until: state.paused_until }, `queue ${queue} paused until ${state.paused_until}: ${reason}`);
    this.poke(queue); // waiting claims re-arm to the pause's end
    return state;
  }

  /** Ends whatever claim `task` is under, fenced by `fence`, sending it where `release` says. */
  async releaseClaim(task: Task, fence: TaskFence, release: TaskRelease, error: string | null): Promise<Task | null> {
    const result = await this.#deps.store.releaseTask(task.id, fence, release, error, iso(this.#now()));
    if (!result.ok) return null;
    if (isCharged(release)) await this.#charged(task.queue);
    else this.poke(task.queue);
    return result.task;
  }

  async requeue(id: string): Promise<Task> {
    const task = await this.#deps.store.getTask(id);
    if (task === null) throw unknownTask(id);
    const requeued = await this.#deps.store.requeueTask(id, iso(this.#now()));
    if (requeued === null) {
      throw new TaskError('not_requeueable', `task ${id} is ${task.state}; only dead (or done) tasks are requeued`);
    }
    this.poke(task.queue);
    return requeued;
  }

  async get(id: string): Promise<Task> {
    const task = await this.#deps.store.getTask(id);
    if (task === null) throw unknownTask(id);
    return task;
  }

  async list(queueName: string, states: readonly TaskState[] | undefined, limit: number): Promise<Task[]> {
    const queue = this.queue(queueName);
    return this.#deps.store.listTasks({ queue: queue.name, ...(states ? { states } : {}), limit });
  }

  /** Every declared queue with its settings, counts, pause and retry budget. */
  async queues(): Promise<QueueSummary[]> {
    const counts = new Map((await this.#deps.store.countTasks()).map((c) => [c.queue, c]));
    const out: QueueSummary[] = [];
    for (const queue of Object.values(this.#deps.config().queues)) out.push(await this.#summary(queue, counts.get(queue.name)));
    return out;
  }

  /** One declared queue's summary (`GET /api/v1/queues/NAME`), or unknown_queue. */
  async queueSummary(name: string): Promise<QueueSummary> {
    const queue = this.queue(name);
    return this.#summary(queue, (await this.#deps.store.countTasks()).find((c) => c.queue === queue.name));
  }

  async #summary(queue: QueueConfig, counts: QueueCounts | undefined): Promise<QueueSummary> {
    const state = await this.#deps.store.getQueueState(queue.name);
    const paused = state.paused_until !== null && Date.parse(state.paused_until) > this.#now();
    const { retries } = queue;
    return {
      ...(counts ?? { queue: queue.name, queued: 0, running: 0, done: 0, dead: 0 }),
      concurrency: queue.concurrency,
      rate: queue.rate === null ? null : `${queue.rate.count}/${queue.rate.perMs}ms`,
      retries: retries.max,
      retry_backoff_ms: retries.backoffMs,
      retry_max_backoff_ms: retries.maxBackoffMs,
      retry_budget: retries.budget === null ? null : `${retries.budget.count}/${retries.budget.perMs}ms`,
      lease_ms: queue.leaseMs,
      paused_until: paused ? state.paused_until : null,
      pause_reason: paused ? state.pause_reason : null,
      budget_exhausted_until: (await this.budgets.state(queue.name))?.exhausted_until ?? null,
    };
  }

  /** One claim attempt for a waiting consumer, under the queue's current limits. */
  async #claimNow(queueName: string, holder: ClaimHolder): Promise<ClaimResult> {
    return this.#claimed(queueName, await this.#deps.store.claimTask(this.#claimRequest(queueName, holder)));
  }

  /** A claim of `queueName` for `holder` now, under the queue's current limits, with a fresh fencing token. */
  #claimRequest(queueName: string, holder: ClaimHolder): ClaimRequest {
    const queue = this.settingsOf(queueName);
    return {
      queue: queueName,
      now: iso(this.#now()),
      lease_token: randomUUID(),
      lease_ms: holder.lease_ms,
      claimed_by: holder.claimed_by,
      run_id: holder.run_id,
      limits: { concurrency: queue.concurrency, rate: queue.rate, retries: queue.retries.max, budget: queue.retries.budget },
    };
  }

  /** What every claim's result asks of the service: the lease reaper's next wake-up, a spent budget's incident. */
  async #claimed(queueName: string, result: ClaimResult): Promise<ClaimResult> {
    if (result.task?.lease_expires_at) this.reaper.consider(Date.parse(result.task.lease_expires_at));
    // Retries refused by a spent budget: make sure its incident is open (the failure that spent it may have been a
    // lease lapsing inside an earlier claim, which nothing else looks at).
    if (result.blocked === 'budget') await this.budgets.check(queueName);
    return result;
  }

  async #release(task: Task, fence: TaskFence, release: TaskRelease, error: string | null): Promise<Task> {
    const result = await this.#deps.store.releaseTask(task.id, fence, release, error, iso(this.#now()));
    const released = this.#stepped(result, task.id);
    if (isCharged(release)) await this.#charged(task.queue);
    else this.poke(task.queue);
    return released;
  }

  /** A failed attempt of `queue` was recorded: its retry budget may be spent now; then its consumers look again. */
  async #charged(queue: string): Promise<void> {
    if (this.settingsOf(queue).retries.budget !== null) await this.budgets.check(queue);
    this.poke(queue);
  }

  /** The task, when the actor may act on its current claim. */
  async #held(actor: TaskActor, id: string, token: string | null | undefined): Promise<Task> {
    const task = await this.#deps.store.getTask(id);
    if (task === null) throw unknownTask(id);
    if (task.state !== 'running') throw leaseLost(task, `it is ${task.state}`);
    if (token != null && token !== task.lease_token) throw leaseLost(task, 'its lease lapsed and it was claimed again');
    if (actor.kind === 'run' && task.run_id !== actor.runId) throw leaseLost(task, `it is held by ${task.claimed_by ?? 'another claim'}, not run ${actor.runId}`);
    return task;
  }

  /** The claim read in #held: the store refuses the step if it changed since (fencing). */
  #fence(actor: TaskActor, task: Task, token: string | null | undefined): TaskFence {
    return { lease_token: token ?? task.lease_token, run_id: actor.kind === 'run' ? actor.runId : null };
  }

  #stepped(result: Awaited<ReturnType<Store['completeTask']>>, id: string): Task {
    if (result.ok) return result.task;
    if (result.reason === 'not_found') throw unknownTask(id);
    throw leaseLost(result.task, 'its claim changed while this step was made');
  }

  /** A task's queue settings; a queue removed from the config keeps the defaults until its tasks are gone. */
  settingsOf(name: string): QueueConfig {
    const queue = this.#deps.config().queues[name];
    if (queue !== undefined) return queue;
    const defaults = DEFAULTS.queue;
    return { name, concurrency: defaults.concurrency, rate: null, retries: expandRetries(undefined, defaults.retries), leaseMs: parseDuration(defaults.lease) };
  }
}

/** The store records these as failed attempts of the queue (its retry budget counts them). */
function isCharged(release: TaskRelease): boolean {
  return release.to === 'dead' || release.charge;
}

/** Who a claim is recorded for: a run (its claims end with it) or the API token. */
function holderOf(actor: TaskActor): Omit<ClaimHolder, 'lease_ms'> {
  return actor.kind === 'run' ? { claimed_by: `run:${actor.runId}`, run_id: actor.runId } : { claimed_by: 'api', run_id: null };
}
