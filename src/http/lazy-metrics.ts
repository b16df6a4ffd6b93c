/**
 * /metrics without the idle cost: prom-client (about 12 MB of RSS) is loaded on the first scrape, not at the daemon's
 * start — a daemon nobody scrapes should not carry it. Until then the runs that end are kept as counts (and their
 * durations, up to a bound), and replayed into the real Metrics when it is made, so the first scrape already shows
 * every run since the start.
 */
import type { Run } from '../store/types.ts';
import type { Metrics, MetricsSource } from './metrics.ts';

/** Durations kept for the histogram before the first scrape; past this only the counts are exact. */
const MAX_PENDING_DURATIONS = 10_000;

export class LazyMetrics {
  readonly #source: MetricsSource;
  #real: Promise<Metrics> | null = null;
  #loaded: Metrics | null = null;
  readonly #counts = new Map<string, { run: Pick<Run, 'job' | 'status' | 'reason'>; n: number }>();
  #durations: Array<Pick<Run, 'job' | 'status' | 'reason' | 'duration_ms'>> = [];

  constructor(source: MetricsSource) {
    this.#source = source;
  }

  observeRunEnded(run: Run): void {
    if (this.#loaded) return this.#loaded.observeRunEnded(run);
    const key = `${run.job}\u0000${run.status}\u0000${run.reason ?? ''}`;
    const entry = this.#counts.get(key) ?? { run: { job: run.job, status: run.status, reason: run.reason }, n: 0 };
    entry.n += 1;
    this.#counts.set(key, entry);
    if (run.duration_ms !== null && this.#durations.length < MAX_PENDING_DURATIONS) this.#durations.push(run);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    this.#real ??= import('./metrics.ts').then(({ Metrics }) => {
      const real = new Metrics(this.#source);
      real.replay([...this.#counts.values()], this.#durations);
      this.#counts.clear();
      this.#durations = [];
      this.#loaded = real;
      return real;
    });
    return (await this.#real).render();
  }
}
