/**
 * Runs the duplicate scan (duplicates.ts) only while it matters, and turns its answers into one report per distinct
 * set of duplicate processes and one "cleared" when they are gone.
 *
 * A job is watched while
 *   - a run of it is running (the daemon calls `runStarting(job)` right before a run starts, `runEnded(job)` after);
 *   - it is a service between two runs: the supervisor brings it back within its restart backoff, so it stays watched
 *     for `restartBackoff.maxMs` + one interval after a run ends (a crash_loop service, restarted at that longest
 *     backoff, stays watched; a paused or halted one is not brought back, and its watch lapses then);
 *   - a duplicate was reported and has not been seen gone yet: the report is kept true until it clears (also one
 *     reported by a previous daemon: `reportedBefore(job)` at start, for each open `process.duplicate` incident).
 * Each `runStarting` scans at once (before the run has spawned, so the report comes before two copies work on the
 * same data for long); while anything is watched, one timer scans every `everyMs`; with nothing watched there is no
 * timer. Scans never overlap: requests that arrive during one share a single follow-up scan.
 */
import { DUPLICATE_SCAN_EVERY } from '../config/defaults.ts';
import type { JobConfig } from '../config/types.ts';
import { parseDuration } from '../config/units.ts';
import type { IncidentInput } from '../alerts/incidents.ts';
import { DueTimer } from '../util/due-timer.ts';
import { displayCommand, type DuplicateFinding, type DuplicateJob, type DuplicateProcess } from './duplicates.ts';

/** Stands for a set of pids reported by an earlier daemon: never equal to a set found now. */
const REPORTED_BEFORE = '(reported before)';

export interface DuplicateScanSource {
  scan(jobs: readonly DuplicateJob[]): Promise<DuplicateFinding[]>;
}

export interface DuplicateWatchOptions {
  scanner: DuplicateScanSource;
  /** The jobs as configured now; a watched job missing from it (removed by a reload) is dropped and cleared once no run of it is left. */
  jobs: () => readonly JobConfig[];
  /** A new set of duplicates of `job` (the first, or a different one). Not called again for the same set. */
  onFound: (job: JobConfig, pids: DuplicateProcess[]) => Promise<void>;
  /** The duplicates reported for `job` are gone (or the job is no longer configured). */
  onCleared: (job: JobConfig) => Promise<void>;
  /** Interval between scans while something is watched; default DUPLICATE_SCAN_EVERY (30 s). */
  everyMs?: number;
  /** A failed scan or callback; the watch carries on at the next interval. Default: ignored. */
  onError?: (error: unknown) => void;
  now?: () => number;
}

interface Watched {
  job: JobConfig;
  running: number;
  /** A service between runs: watched until then. */
  lingerUntil: number | null;
  /** The set last reported (pid@start, sorted), or null when nothing is reported. */
  reported: string | null;
}

export class DuplicateWatch {
  readonly #options: DuplicateWatchOptions;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #watched = new Map<string, Watched>();
  readonly #timer: DueTimer;
  #inFlight: Promise<void> | null = null;
  #followUp: Promise<void> | null = null;
  #stopped = false;
  /** Scans done; for tests and status. */
  scans = 0;

  constructor(options: DuplicateWatchOptions) {
    this.#options = options;
    this.#everyMs = options.everyMs ?? parseDuration(DUPLICATE_SCAN_EVERY);
    this.#now = options.now ?? Date.now;
    this.#timer = new DueTimer(() => void this.#scanSoon(), this.#now);
  }

  /** A run of `job` is about to start: watch it and scan now. Resolves when that scan (and its reports) are done. */
  runStarting(job: JobConfig): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const entry = this.#entry(job);
    entry.job = job;
    entry.running += 1;
    entry.lingerUntil = null;
    return this.#scanSoon();
  }

  /**
   * A run of the job named `job.name` has ended (its config as the run started is used: a reload may have removed the
   * job meanwhile). With nothing left to watch the timer stops.
   */
  runEnded(job: Pick<JobConfig, 'name'>): void {
    const entry = this.#watched.get(job.name);
    if (!entry) return;
    entry.running = Math.max(0, entry.running - 1);
    if (entry.running === 0 && entry.job.kind === 'service') entry.lingerUntil = this.#now() + entry.job.restartBackoff.maxMs + this.#everyMs;
    // During a scan the entry stays: the scan may yet report a duplicate for it, which must then be followed to its end.
    if (this.#inFlight !== null) return;
    this.#forgetIdle();
    if (this.#watched.size === 0) this.#timer.cancel();
  }

  /**
   * Duplicates of `job` were reported before this watch existed (an open `process.duplicate` incident found when the
   * daemon starts): watch the job until a scan shows them gone — then `onCleared` — or reports them anew.
   */
  reportedBefore(job: JobConfig): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const entry = this.#entry(job);
    entry.reported ??= REPORTED_BEFORE;
    return this.#scanSoon();
  }

  /** Stops scanning; waits for a scan in flight. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.cancel();
    await this.#followUp;
    await this.#inFlight;
  }

  /** Names of the jobs watched now. */
  get watching(): string[] {
    return [...this.#watched.keys()];
  }

  /** When the next interval scan is due (epoch ms), or null when no timer is armed. */
  get nextScanAt(): number | null {
    return this.#timer.dueAt;
  }

  #entry(job: JobConfig): Watched {
    let entry = this.#watched.get(job.name);
    if (!entry) {
      entry = { job, running: 0, lingerUntil: null, reported: null };
      this.#watched.set(job.name, entry);
    }
    return entry;
  }

  #isWatched(entry: Watched): boolean {
    return entry.running > 0 || (entry.lingerUntil !== null && entry.lingerUntil > this.#now()) || entry.reported !== null;
  }

  #forgetIdle(): void {
    for (const [name, entry] of this.#watched) if (!this.#isWatched(entry)) this.#watched.delete(name);
  }

  /** A scan now, or — when one is in flight — one right after it, shared by everyone who asks meanwhile. */
  #scanSoon(): Promise<void> {
    if (this.#inFlight === null) return this.#startScan();
    this.#followUp ??= this.#inFlight.then(() => {
      this.#followUp = null;
      return this.#startScan();
    });
    return this.#followUp;
  }

  #startScan(): Promise<void> {
    const scan = this.#scanOnce()
      .catch((error: unknown) => this.#options.onError?.(error))
      .finally(() => {
        this.#inFlight = null;
        this.#forgetIdle();
        this.#arm();
      });
    this.#inFlight = scan;
    return scan;
  }

  #arm(): void {
    if (this.#stopped || this.#watched.size === 0) this.#timer.cancel();
    else this.#timer.arm(this.#now() + this.#everyMs);
  }

  async #scanOnce(): Promise<void> {
    if (this.#stopped) return;
    const configured = new Map(this.#options.jobs().map((job) => [job.name, job]));
    for (const [name, entry] of this.#watched) {
      const current = configured.get(name);
      if (current) {
        entry.job = current; // a reload may have changed its command
        continue;
      }
      if (entry.running > 0) continue; // removed by a reload, but its run goes on with the command it started with
      this.#watched.delete(name);
      if (entry.reported !== null) await this.#options.onCleared(entry.job);
    }
    this.#forgetIdle();
    if (this.#watched.size === 0) return;
    const entries = [...this.#watched.values()];
    const findings = await this.#options.scanner.scan(entries.map((e) => e.job));
    this.scans += 1;
    const byJob = new Map(findings.map((f) => [f.job, f.pids]));
    for (const entry of entries) {
      const pids = byJob.get(entry.job.name) ?? [];
      if (pids.length > 0) {
        const key = pids.map((p) => `${p.pid}@${p.startedAt ?? '?'}`).sort().join(',');
        if (key === entry.reported) continue;
        await this.#options.onFound(entry.job, pids);
        entry.reported = key; // only once told: a failed report is tried again at the next scan
      } else if (entry.reported !== null) {
        await this.#options.onCleared(entry.job);
        entry.reported = null;
      }
    }
  }
}

/**
 * The `process.duplicate` incident for a set of duplicates, as the daemon opens it (subject: the job). The detail
 * names every pid, its user, start time and command line, and says what to do.
 */
export function duplicateIncident(job: Pick<JobConfig, 'name' | 'command'>, pids: readonly DuplicateProcess[]): IncidentInput {
  const list = pids.map((p) => p.pid).join(', ');
  const copies = pids.length === 1 ? 'a copy' : `${pids.length} copies`;
  const since = pids.map((p) => p.startedAt).filter((at): at is string => at !== null).sort()[0];
  return {
    kind: 'process.duplicate',
    subject: job.name,
    summary: `job ${job.name}: ${copies} of its command running outside nightshift (pid ${list}: ${pids[0]?.cmdline ?? displayCommand(job.command)})`,
    detail: {
      ...(since !== undefined ? { since } : {}),
      pids: pids.map((p) => ({ pid: p.pid, user: p.user, started_at: p.startedAt, cmdline: p.cmdline })),
      fix:
        `these processes run the command of job ${job.name} without nightshift's run marker: started by hand, by cron or by another ` +
        `supervisor (systemd, PM2), they work on the same data as nightshift's run. Find what starts them ` +
        `(\`ps -o pid,ppid,user,lstart,args -p ${pids.map((p) => p.pid).join(',')}\`, \`systemctl status ${pids[0]?.pid ?? ''}\`, crontab -l), ` +
        `stop that for good, then \`kill ${pids.map((p) => p.pid).join(' ')}\`. nightshift does not kill them: they are not its processes.`,
    },
  };
}
