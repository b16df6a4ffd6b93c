/**
 * systemd's watchdog for the daemon: WATCHDOG=1 every half of WatchdogSec, and only while the daemon's own loops are
 * healthy. The ping is a plain timer on the event loop, so a blocked loop stops it without any check; a scheduler
 * loop that stopped ticking (a store call that never returns, a bug) stops it through `healthy()`. Then systemd
 * kills and restarts the daemon. Job-level trouble (a late job, a check down) is not the daemon's ill health and does
 * not stop the pings: restarting the daemon would not fix it.
 */
import { MAX_WAIT_MS } from '../scheduler/scheduler.ts';
import type { HealthReason } from '../http/control-plane.ts';
import { healthOf } from '../store/observed-store.ts';
import type { Store } from '../store/types.ts';
import { iso } from '../util/time.ts';

/** The scheduler ticks at least every MAX_WAIT_MS; two missed ticks and a margin mean it is stuck (as /healthz says). */
export const SCHEDULER_STUCK_AFTER_MS = 2 * MAX_WAIT_MS + 5_000;

export interface LoopHealth {
  /** The daemon's state: only `running` is healthy. */
  state: () => string;
  /** Date.now() of the scheduler's last tick. */
  lastSchedulerTickAt: () => number;
}

/** Why the daemon's loops are not healthy, or null when they are. */
export function loopTrouble(health: LoopHealth, nowMs = Date.now()): string | null {
  const state = health.state();
  if (state !== 'running') return `the daemon is ${state}`;
  const sinceTickMs = nowMs - health.lastSchedulerTickAt();
  if (sinceTickMs > SCHEDULER_STUCK_AFTER_MS) return `the scheduler loop has not run for ${Math.round(sinceTickMs / 1000)} s`;
  return null;
}

export class Watchdog {
  readonly #intervalMs: number;
  readonly #health: LoopHealth;
  readonly #ping: () => void;
  readonly #onTrouble: (why: string) => void;
  #timer: NodeJS.Timeout | null = null;
  #troubled = false;

  constructor(options: { intervalMs: number; health: LoopHealth; ping: () => void; onTrouble: (why: string) => void }) {
    this.#intervalMs = options.intervalMs;
    this.#health = options.health;
    this.#ping = options.ping;
    this.#onTrouble = options.onTrouble;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const trouble = loopTrouble(this.#health);
    if (trouble === null) {
      this.#troubled = false;
      this.#ping();
      return;
    }
    // Said once per spell of trouble, not at every skipped ping.
    if (!this.#troubled) this.#onTrouble(trouble);
    this.#troubled = true;
  }
}

/**
 * What /healthz reports while the daemon runs: the watchers' reasons (checks down, a lagging loop, an outbox not
 * draining) — or, while the database is unreachable, that outage alone — and a scheduler loop that stopped ticking.
 */
export async function daemonHealthReasons(deps: {
  running: boolean;
  store: Store;
  watched: () => Promise<HealthReason[]>;
  lastSchedulerTickAt: number;
}): Promise<HealthReason[]> {
  if (!deps.running) return [];
  const storeHealth = healthOf(deps.store);
  const reasons = await (storeHealth ? storeHealth.guard(deps.watched) : deps.watched());
  if (Date.now() - deps.lastSchedulerTickAt > SCHEDULER_STUCK_AFTER_MS) {
    reasons.push({ subject: 'daemon', kind: 'daemon', summary: `the scheduler loop has not run since ${iso(deps.lastSchedulerTickAt)}` });
  }
  return reasons;
}
