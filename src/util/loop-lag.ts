/**
 * Event-loop lag, measured by how late a timer fires. A sample every 30 s (unref'd) costs two wakeups a minute, where
 * perf_hooks.monitorEventLoopDelay would wake the loop every 10 ms; a loop blocked long enough to matter (seconds)
 * makes the next sample late by that much. The reported lag is the worst of the last few samples.
 */
const SAMPLE_EVERY_MS = 30_000;
const KEEP_SAMPLES = 4;

export class LoopLag {
  readonly #samples: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  #expected = 0;

  start(): void {
    this.#schedule();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The worst lag of the recent samples, in ms. */
  get lagMs(): number {
    return this.#samples.length ? Math.max(...this.#samples) : 0;
  }

  #schedule(): void {
    this.#expected = performance.now() + SAMPLE_EVERY_MS;
    this.#timer = setTimeout(() => {
      this.#samples.push(Math.max(0, performance.now() - this.#expected));
      if (this.#samples.length > KEEP_SAMPLES) this.#samples.shift();
      this.#schedule();
    }, SAMPLE_EVERY_MS);
    this.#timer.unref();
  }
}
