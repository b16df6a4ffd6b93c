/**
 * One queue's consumers waiting for tasks — long-poll claims and the driver of a `queue:` job — and the one place
 * that claims for them. No polling: the gate claims when it is poked (a task was enqueued, failed back, requeued or
 * finished; a lease lapsed; a job's run ended) and otherwise sleeps on one timer set to the moment the store said a
 * claim could next succeed (a task's run_at, a rate-limit slot, the end of a pause, a lease's expiry).
 *
 * Claims are made one at a time, in the order consumers arrived, so a burst of pokes never makes two claims race
 * for one consumer and a long-waiting consumer is served first.
 */
import type { ClaimResult, Task } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';

/** How a consumer's claims are recorded: who, for which run, under which lease (null: held for the run's life). */
export interface ClaimHolder {
  claimed_by: string;
  run_id: string | null;
  lease_ms: number | null;
}

export interface Consumer {
  /** Whether it takes a task now (a job's driver declines while its job runs, is paused or is starting). */
  wants(): boolean | Promise<boolean>;
  holder(): ClaimHolder;
  /** Hands over a claimed task; must not throw. */
  deliver(task: Task): void;
}

/** After a store failure, the gate tries again this much later rather than spinning. */
const RETRY_AFTER_ERROR_MS = 1_000;

export interface QueueGateDeps {
  claim: (holder: ClaimHolder) => Promise<ClaimResult>;
  /** Returns a claimed task nobody took (its consumer left while the claim was made), without charging it. */
  giveBack: (task: Task) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

export class QueueGate {
  readonly #deps: QueueGateDeps;
  readonly #consumers: Consumer[] = [];
  /** How to end each waiting long-poll (with null at shutdown). */
  readonly #polls = new Set<(task: Task | null) => void>();
  readonly #timer: DueTimer;
  #pumping: Promise<void> = Promise.resolve();
  #running = false;
  #again = false;
  #closed = false;

  constructor(deps: QueueGateDeps) {
    this.#deps = deps;
    this.#timer = new DueTimer(() => this.poke(), deps.now);
  }

  get waiting(): number {
    return this.#consumers.length;
  }

  /** A consumer that stays (a job's driver): offered tasks whenever it wants one, until removed. */
  add(consumer: Consumer): void {
    this.#consumers.push(consumer);
    this.poke();
  }

  remove(consumer: Consumer): void {
    const at = this.#consumers.indexOf(consumer);
    if (at !== -1) this.#consumers.splice(at, 1);
  }

  /**
   * A claim that waits up to `waitMs` for a task (a long-poll); null when none came in time, the signal aborted or
   * the gate closed.
   */
  async take(holder: ClaimHolder, waitMs: number, signal?: AbortSignal): Promise<Task | null> {
    if (this.#closed || signal?.aborted) return null;
    // A claim that does not wait, or that nobody waits ahead of, claims at once.
    if (waitMs <= 0 || this.#consumers.length === 0) {
      const result = await this.#deps.claim(holder);
      if (result.task !== null || waitMs <= 0) return result.task;
      this.#arm(result.retry_at);
    }
    return new Promise<Task | null>((resolve) => {
      let done = false;
      const finish = (task: Task | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.remove(waiter);
        this.#polls.delete(finish);
        resolve(task);
      };
      const waiter: Consumer = { wants: () => !done, holder: () => holder, deliver: (task) => finish(task) };
      const onAbort = () => finish(null);
      const timer = setTimeout(() => finish(null), waitMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#consumers.push(waiter);
      this.#polls.add(finish);
      // Poked now: a task may have come between the first claim and this subscription.
      this.poke();
    });
  }

  /** Something changed that may let a claim succeed: claim for whoever waits. Serialised; a poke mid-pump re-runs it. */
  poke(): void {
    if (this.#closed) return;
    this.#again = true;
    if (this.#running) return;
    this.#running = true;
    this.#pumping = this.#pump();
  }

  /** Resolves when the claims in progress are made (tests use it to see the gate settle after a poke). */
  async idle(): Promise<void> {
    while (this.#running) await this.#pumping;
  }

  /** Answers every waiting long-poll with null, drops every consumer and stops the timer (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer.cancel();
    for (const finish of [...this.#polls]) finish(null);
    this.#consumers.length = 0;
    await this.#pumping;
  }

  async #pump(): Promise<void> {
    await Promise.resolve(); // never finish synchronously: poke() assigns #pumping after this returns
    try {
      // `#again` is checked and `#running` cleared with no await between, so a poke is never lost.
      while (this.#again && !this.#closed) {
        this.#again = false;
        try {
          await this.#serve();
        } catch (error) {
          this.#deps.logger.error({ err: error }, 'claiming a task for a waiting consumer failed; trying again shortly');
          this.#arm(new Date((this.#deps.now ?? Date.now)() + RETRY_AFTER_ERROR_MS).toISOString());
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Claims for wanting consumers in arrival order until one claim comes back empty. */
  async #serve(): Promise<void> {
    for (;;) {
      const consumer = await this.#firstWanting();
      if (consumer === null) return;
      const result = await this.#deps.claim(consumer.holder());
      if (result.task === null) return this.#arm(result.retry_at);
      // A long-poll that gave up while the claim was made gets nothing: the task goes back, free, at once.
      if (!(await consumer.wants())) await this.#deps.giveBack(result.task);
      else consumer.deliver(result.task);
    }
  }

  async #firstWanting(): Promise<Consumer | null> {
    for (const consumer of [...this.#consumers]) if (await consumer.wants()) return consumer;
    return null;
  }

  #arm(retryAt: string | null): void {
    if (retryAt === null || this.#closed) return;
    const at = Date.parse(retryAt);
    const armed = this.#timer.dueAt;
    if (armed === null || at < armed || armed <= (this.#deps.now ?? Date.now)()) this.#timer.arm(at);
  }
}
