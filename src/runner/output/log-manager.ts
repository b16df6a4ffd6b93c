/**
 * Owns every job's log writer and the limits that span all of them: `logs.max_total` and `logs.min_free_disk`.
 *
 * One writer per job, shared by that job's runs (records carry the run id), kept open until close(): jobs are few
 * and fixed by the config, and closing a writer between runs would race its own final flush against the next run's
 * first rotation. A job whose `logs:` settings changed gets a fresh writer once none of its runs is writing.
 *
 * Background checks (free disk every few seconds, max_total every minute and after every rotation) run on
 * unref'd `setInterval` from node:timers/promises under one AbortController, so close() stops them all and they
 * never keep the process alive.
 */
import { mkdirSync } from 'node:fs';
import { setInterval } from 'node:timers/promises';

import type { FreeDiskFloor, JobLogsConfig } from '../../config/types.ts';
import type { OutputSink } from '../types.ts';
import { DiskFloorGuard, type StatFs } from './disk-floor.ts';
import { JobLog } from './job-log.ts';
import { LineSink, type RecordWriter } from './line-sink.ts';
import { activeLogPath, assertSafeJobName } from './log-files.ts';
import { enforceMaxTotal, type MaxTotalResult } from './max-total.ts';

export interface LogManagerOptions {
  /** `<state_dir>/logs`. */
  logsDir: string;
  /** `logs.max_total`; ≤ 0 = no cap. */
  maxTotalBytes: number;
  /** `logs.min_free_disk`. */
  minFreeDisk: FreeDiskFloor;
  /** Injectable so tests can simulate a full disk. */
  statfs?: StatFs;
  /** How old the cached statfs answer may get; default 5 s. */
  diskCheckIntervalMs?: number;
  /** Periodic max_total check (besides the one after each rotation); default 60 s. */
  totalCheckIntervalMs?: number;
  /** Per job writer, see job-log.ts; default 8 MiB. */
  maxBacklogBytes?: number;
  /** See line-sink.ts; default 64 KiB. */
  maxLineBytes?: number;
  now?: () => Date;
}

interface Writer {
  log: JobLog;
  /** Runs whose sink has not ended yet. */
  activeRuns: number;
}

const DEFAULT_TOTAL_CHECK_INTERVAL_MS = 60_000;
const DISCARD: RecordWriter = { write: () => {}, runEnded: () => {} };

export class LogManager {
  readonly logsDir: string;
  private readonly opts: LogManagerOptions;
  private readonly writers = new Map<string, Writer>();
  private readonly retired = new Set<Promise<void>>();
  private readonly disk: DiskFloorGuard;
  private readonly stop = new AbortController();
  private enforcing: Promise<MaxTotalResult> | null = null;
  private enforceAgain = false;
  private closing: Promise<void> | null = null;
  /** Runs whose output is being written now, and the periodic checks that run while there are any. */
  private writing = 0;
  private checks: AbortController | null = null;

  constructor(opts: LogManagerOptions) {
    this.opts = opts;
    this.logsDir = opts.logsDir;
    try {
      mkdirSync(opts.logsDir, { recursive: true, mode: 0o750 });
    } catch {
      // Reported by the first write (a marker) and by `doctor`; the daemon must not die of it.
    }
    this.disk = new DiskFloorGuard({
      path: opts.logsDir,
      floor: opts.minFreeDisk,
      statfs: opts.statfs,
      checkIntervalMs: opts.diskCheckIntervalMs,
      onRecovered: () => this.writers.forEach((w) => w.log.flushMarkers()),
    });
    void this.disk.refresh();
    void this.enforceMaxTotal();
  }

  /**
   * The periodic checks (free disk, max_total) run only while some run is writing: an idle daemon must not wake up
   * every few seconds to look at a disk nothing is writing to. (The first write after a pause finds the cached free
   * space stale and refreshes it.)
   */
  private runStarted(): void {
    this.writing += 1;
    if (this.writing !== 1 || this.closing !== null) return;
    const checks = new AbortController();
    this.checks = checks;
    const signal = AbortSignal.any([this.stop.signal, checks.signal]);
    void this.every(this.opts.diskCheckIntervalMs ?? 5000, signal, () => this.disk.refresh());
    void this.every(this.opts.totalCheckIntervalMs ?? DEFAULT_TOTAL_CHECK_INTERVAL_MS, signal, () => this.enforceMaxTotal());
  }

  private runFinished(): void {
    this.writing -= 1;
    if (this.writing > 0) return;
    this.checks?.abort();
    this.checks = null;
    void this.enforceMaxTotal(); // once more, for what the last runs wrote
  }

  /** The sink for one run of `job`. Throws only for a job name that cannot be a directory name. */
  sinkFor(job: string, runId: string, logs: JobLogsConfig): OutputSink {
    assertSafeJobName(job);
    if (this.closing !== null) return new LineSink(runId, DISCARD); // shutting down: nothing may reopen a file
    const writer = this.writerFor(job, logs);
    writer.activeRuns += 1;
    this.runStarted();
    let ended = false;
    return new LineSink(runId, writer.log, {
      maxLineBytes: this.opts.maxLineBytes,
      now: this.opts.now,
      onEnd: () => {
        if (!ended) {
          writer.activeRuns -= 1;
          this.runFinished();
        }
        ended = true;
      },
    });
  }

  /** Asks statfs now instead of waiting for the cache to age (startup, tests). */
  checkDisk(): Promise<void> {
    return this.disk.refresh();
  }

  /** Applies `logs.max_total` now. Calls while one runs share it and ask for one more pass afterwards. */
  enforceMaxTotal(): Promise<MaxTotalResult> {
    if (this.enforcing !== null) {
      this.enforceAgain = true;
      return this.enforcing;
    }
    const run = async (): Promise<MaxTotalResult> => {
      let result: MaxTotalResult;
      do {
        this.enforceAgain = false;
        result = await enforceMaxTotal(this.logsDir, this.opts.maxTotalBytes, (job) => this.isRotating(job)).catch(
          () => ({ totalBytes: 0, deleted: [] }), // unreadable logs dir: nothing we can delete; the next pass retries
        );
      } while (this.enforceAgain);
      return result;
    };
    this.enforcing = run().finally(() => (this.enforcing = null));
    return this.enforcing;
  }

  /** Stops the background checks and closes every writer after it has flushed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      const writers = [...this.writers.values()];
      this.writers.clear();
      await Promise.all([...writers.map((w) => w.log.close()), ...this.retired]);
      await this.enforcing?.catch(() => undefined);
    })();
    return this.closing;
  }

  private writerFor(job: string, logs: JobLogsConfig): Writer {
    const existing = this.writers.get(job);
    if (existing !== undefined && (existing.log.sameSettings(logs) || existing.activeRuns > 0)) return existing;
    if (existing !== undefined) this.retire(existing.log);
    const writer: Writer = {
      log: new JobLog({
        path: activeLogPath(this.logsDir, job),
        maxSizeBytes: logs.maxSizeBytes,
        keep: logs.keep,
        compress: logs.compress,
        maxBacklogBytes: this.opts.maxBacklogBytes,
        gate: () => this.disk.reason(),
        onRotated: () => void this.enforceMaxTotal(),
        now: this.opts.now,
      }),
      activeRuns: 0,
    };
    this.writers.set(job, writer);
    return writer;
  }

  private retire(log: JobLog): void {
    const closing = log.close().finally(() => this.retired.delete(closing));
    this.retired.add(closing);
  }

  private isRotating(job: string): boolean {
    return this.writers.get(job)?.log.rotating ?? false;
  }

  private async every(intervalMs: number, signal: AbortSignal, task: () => Promise<unknown>): Promise<void> {
    try {
      for await (const _ of setInterval(intervalMs, undefined, { signal, ref: false })) {
        await task().catch(() => undefined);
      }
    } catch {
      // aborted: by close(), or because no run is writing any more
    }
  }
}
