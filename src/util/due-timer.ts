/**
 * One timer to the next due moment, the way every watcher waits (DESIGN.md: "no busy polling: one timer to the next
 * due event"). Arming again replaces the previous moment; the timer is unref'd so it never keeps a stopping daemon
 * alive, and long waits are cut into pieces because Node timers overflow past 24.8 days.
 */
const MAX_WAIT_MS = 3_600_000;

export class DueTimer {
  #timer: NodeJS.Timeout | null = null;
  #dueAt: number | null = null;
  readonly #onDue: () => void;
  readonly #now: () => number;

  constructor(onDue: () => void, now: () => number = Date.now) {
    this.#onDue = onDue;
    this.#now = now;
  }

  /** When the timer will fire next (the moment armed), or null when it is not armed. */
  get dueAt(): number | null {
    return this.#dueAt;
  }

  /** Fires `onDue` at `atMs` (at once if that has passed); null disarms. */
  arm(atMs: number | null): void {
    this.cancel();
    if (atMs === null) return;
    this.#dueAt = atMs;
    const wait = Math.max(0, atMs - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (wait >= MAX_WAIT_MS && this.#now() < atMs) return this.arm(atMs); // a piece of a long wait
      this.#dueAt = null;
      this.#onDue();
    }, Math.min(wait, MAX_WAIT_MS));
    this.#timer.unref();
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dueAt = null;
  }
}
