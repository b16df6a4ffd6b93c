/**
 * Host findings (`doctor`) for the dashboard, cached: the checks read /proc, /sys and run a few commands (about
 * 0.6 s), so they run at most once per DASHBOARD.findings_every and a page never waits for them. A view gets what is
 * cached at once — on the very first, a "first look under way" answer — while a fresh look runs in the background;
 * `onFresh` tells the daemon's event feed when it is in, so open pages update.
 */
import { DASHBOARD } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import type { HostFinding, HostFindings } from '../http/control-plane.ts';
import type { ResolvedConfig } from '../config/types.ts';

export type FindingsSource = () => Promise<{ findings: HostFinding[] }>;

export class HostFindingsCache {
  readonly #source: FindingsSource | null;
  readonly #everyMs: number;
  readonly #now: () => number;
  #last: HostFindings | null = null;
  #lastAt = -Infinity;
  #running: Promise<HostFindings | null> | null = null;

  /** `source` null: no host checks here (findings() answers null, and the dashboard says so). */
  readonly #onFresh: () => void;

  constructor(source: FindingsSource | null, opts: { everyMs?: number; now?: () => number; onFresh?: () => void } = {}) {
    this.#source = source;
    this.#onFresh = opts.onFresh ?? (() => undefined);
    this.#everyMs = opts.everyMs ?? parseDuration(DASHBOARD.findings_every);
    this.#now = opts.now ?? Date.now;
  }

  async findings(): Promise<HostFindings | null> {
    if (this.#source === null) return null;
    if (this.#now() - this.#lastAt >= this.#everyMs) void this.#refresh();
    return this.#last ?? { checked_at: null, findings: [] };
  }

  /** Resolves when the look under way (if any) is in; for tests and the first render of a screenshot. */
  async settled(): Promise<void> {
    await this.#running;
  }

  #refresh(): Promise<HostFindings | null> {
    this.#running ??= (async () => {
      try {
        const result = await this.#source!();
        this.#last = { checked_at: new Date(this.#now()).toISOString(), findings: result.findings };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#last = {
          checked_at: new Date(this.#now()).toISOString(),
          findings: [{ id: 'doctor.failed', severity: 'warning', title: 'the host checks failed', detail: message, fix: 'run `nightshift doctor` on the host to see why' }],
        };
      } finally {
        this.#lastAt = this.#now();
        this.#running = null;
      }
      this.#onFresh();
      return this.#last;
    })();
    return this.#running;
  }
}

/**
 * THE wiring point to `doctor` (src/doctor/index.ts): the same checks as `nightshift doctor -c CONFIG`, so the
 * jobs are checked too and `doctor.ignore` applies. Tests give the cache their own source.
 */
export function doctorSource(config: () => ResolvedConfig): FindingsSource {
  // Imported at the first look, not with the daemon: doctor's ~40 modules would otherwise stay in an idle daemon's
  // heap from start to stop, and most daemons never show the dashboard's host page (docs/benchmarks.md, section 2).
  return async () => (await import('../doctor/index.ts')).runDoctor({ config: config() });
}
