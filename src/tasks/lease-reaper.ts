/**
 * Puts tasks whose lease lapsed back in their queue (or in the dead letter once their retries are spent), so a
 * worker that died mid-task — killed, OOM, its machine gone — does not hold the task forever. One timer, set to the
 * next lease expiry the store knows of, re-armed after each reap and pulled earlier by every new claim: no loop.
 * (A claim also reaps its own queue's lapsed leases in its transaction; this is for queues nobody is claiming from,
 * so `task list` and the dead letter are right even then.)
 */
import type { Store } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';

export interface LeaseReaperDeps {
  store: Store;
  logger: Logger;
  retriesOf: (queue: string) => number;
  /** The queues that had tasks put back: their waiting claims may now succeed. */
  onReaped: (queues: string[]) => void;
  now?: () => number;
}

/** After a store failure, the reaper tries again this much later. */
const RETRY_AFTER_ERROR_MS = 5_000;

export class LeaseReaper {
  readonly #deps: LeaseReaperDeps;
  readonly #now: () => number;
  readonly #timer: DueTimer;
  #stopped = false;
  #reaping: Promise<void> | null = null;

  constructor(deps: LeaseReaperDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#timer = new DueTimer(() => void this.reap(), this.#now);
  }

  /** Reaps what lapsed while the daemon was down, then waits for the next expiry. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.reap();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer.cancel();
  }

  /** A lease now expires at `expiresAtMs`: fire then if that is sooner than the timer is set for. */
  consider(expiresAtMs: number): void {
    if (this.#stopped) return;
    const armed = this.#timer.dueAt;
    // A lease is held through its expiry instant: it lapses the moment after.
    if (armed === null || expiresAtMs + 1 < armed) this.#timer.arm(expiresAtMs + 1);
  }

  reap(): Promise<void> {
    this.#reaping ??= this.#reap().finally(() => {
      this.#reaping = null;
    });
    return this.#reaping;
  }

  async #reap(): Promise<void> {
    if (this.#stopped) return;
    try {
      const reaped = await this.#deps.store.reapExpiredTasks(iso(this.#now()), this.#deps.retriesOf);
      for (const task of reaped) {
        this.#deps.logger.warn(
          { task: task.id, queue: task.queue, attempt: task.attempt, state: task.state, claimed_by: task.claimed_by },
          task.state === 'dead' ? 'a task lease lapsed on its last attempt: dead letter' : 'a task lease lapsed: the task is back in its queue',
        );
      }
      if (reaped.length) this.#deps.onReaped([...new Set(reaped.map((t) => t.queue))]);
      const next = await this.#deps.store.nextLeaseExpiry();
      if (!this.#stopped) this.#timer.arm(next === null ? null : Date.parse(next) + 1);
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'reaping lapsed task leases failed; trying again shortly');
      if (!this.#stopped) this.#timer.arm(this.#now() + RETRY_AFTER_ERROR_MS);
    }
  }
}
