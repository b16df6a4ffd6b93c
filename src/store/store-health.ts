/**
 * Whether the daemon can reach its store right now (docs/scale-out.md "When the database goes away").
 *
 * Fed by every store call the daemon makes (observed-store.ts): a call that fails because the database cannot be
 * reached marks the store down; any call that succeeds marks it up. While down — and only then — a cheap probe looks
 * again on a doubling backoff, so a daemon with nothing to do still notices the database is back; nothing polls a
 * healthy store. `/healthz` reports the outage as one reason (503) instead of failing on the store itself.
 *
 * A database outage is deliberately not a reason for systemd's watchdog to restart the daemon (sd-notify.ts looks at
 * the daemon's own loops only): a restart would kill every running job, and the new daemon could not start anyway
 * until the database is back.
 */
import { isStoreError } from './errors.ts';

/** Failures that mean "the database did not answer", as opposed to a refused or invalid operation. */
export function isUnreachable(error: unknown): boolean {
  return isStoreError(error, 'cannot_open');
}

/** What /healthz shows while the store is down (the shape of a health reason, DESIGN.md). */
export interface StoreDownReason {
  subject: 'daemon';
  kind: 'store';
  summary: string;
}

export interface StoreHealthOptions {
  /** A cheap read of the store, tried while it is down; resolving means it is back. */
  probe: () => Promise<unknown>;
  /** First wait before probing again, doubled after each failed probe up to `probeMaxMs`. */
  probeInitialMs: number;
  probeMaxMs: number;
  /** Told when the store goes down and when it is back (the daemon logs it). */
  onChange?: (down: { since: number; error: string } | null, downForMs: number) => void;
  now?: () => number;
}

export class StoreHealth {
  readonly #options: StoreHealthOptions;
  readonly #now: () => number;
  #down: { since: number; error: string } | null = null;
  #delayMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #waiters: Array<() => void> = [];
  #stopped = false;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get isDown(): boolean {
    return this.#down !== null;
  }

  /** A store call failed; only an unreachable database counts. */
  failed(error: unknown): void {
    if (this.#stopped || !isUnreachable(error)) return;
    const message = error instanceof Error ? error.message : String(error);
    if (this.#down !== null) {
      this.#down.error = message;
      return;
    }
    this.#down = { since: this.#now(), error: message };
    this.#options.onChange?.(this.#down, 0);
    this.#delayMs = this.#options.probeInitialMs;
    this.#armProbe();
  }

  /** A store call succeeded: the database answers. */
  succeeded(): void {
    const down = this.#down;
    if (down === null) return;
    this.#down = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#options.onChange?.(null, this.#now() - down.since);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The /healthz reason while down, else null. */
  reason(): StoreDownReason | null {
    if (this.#down === null) return null;
    return {
      subject: 'daemon',
      kind: 'store',
      summary: `the database is unreachable: ${this.#down.error} (since ${new Date(this.#down.since).toISOString()})`,
    };
  }

  /** Resolves when the store is back; null when it is not down. */
  whenUp(): Promise<void> | null {
    if (this.#down === null) return null;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Health reasons that need the store to be worked out: while it is down only the outage is reported (reading the
   * rest would fail); a read that fails because it went down reports the outage instead of failing /healthz.
   */
  async guard<R>(read: () => Promise<R[]>): Promise<Array<R | StoreDownReason>> {
    const before = this.reason();
    if (before !== null) return [before];
    try {
      return await read();
    } catch (error) {
      const after = this.reason();
      if (after !== null) return [after];
      throw error;
    }
  }

  /** No more probes (the daemon is stopping); waiters are released so nothing hangs on them. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #armProbe(): void {
    if (this.#stopped || this.#down === null) return;
    this.#timer = setTimeout(() => void this.#probe(), this.#delayMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    this.#timer = null;
    try {
      await this.#options.probe();
      this.succeeded();
    } catch (error) {
      if (this.#down !== null && error instanceof Error) this.#down.error = error.message;
      this.#delayMs = Math.min(this.#delayMs * 2, this.#options.probeMaxMs);
      this.#armProbe();
    }
  }
}
