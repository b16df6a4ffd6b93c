import type { JobConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import type { Logger } from '../util/logger.ts';

export interface ServiceSupervisorDeps {
  store: Store;
  dispatcher: Dispatcher;
  logger: Logger;
  jobs: () => Readonly<Record<string, JobConfig>>;
  now?: () => number;
}

/** How many recent runs are read to count consecutive quick exits; the backoff is at its cap long before this. */
const RECENT_RUNS = 32;

/**
 * Keeps service jobs (`restart: always | on-failure`) running: starts each at daemon start and on reload, and after
 * every exit queues a restart (`trigger: restart`) whose delay doubles with each consecutive quick exit (one that
 * lasted less than `min_uptime`) and resets once a run stays up that long. Every start and exit is a run on record.
 *
 * Its state is derived from the store (the job's recent runs), never kept beside it. Crash-loop detection, its
 * incident and start-failure diagnosis build on this (containment features).
 */
export class ServiceSupervisor {
  private readonly deps: ServiceSupervisorDeps;
  private readonly now: () => number;
  private stopped = false;

  constructor(deps: ServiceSupervisorDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.deps.dispatcher.events.on('run:ended', this.onRunEnded);
    await this.ensureAllRunning();
  }

  /** After a reload or a resume: start any service that is neither running nor waiting to restart. */
  async ensureAllRunning(): Promise<void> {
    for (const job of Object.values(this.deps.jobs())) {
      if (job.kind === 'service') await this.ensureRunning(job);
    }
  }

  stop(): void {
    this.stopped = true;
    this.deps.dispatcher.events.off('run:ended', this.onRunEnded);
  }

  private readonly onRunEnded = (run: Run): void => {
    const job = this.deps.jobs()[run.job];
    if (this.stopped || !job || job.kind !== 'service') return;
    this.restartAfter(job, run).catch((error: unknown) => {
      this.deps.logger.error({ err: error, job: job.name }, 'could not queue the restart of a service');
    });
  };

  private async ensureRunning(job: JobConfig): Promise<void> {
    const state = await this.deps.store.getJobState(job.name);
    if (state.paused) return;
    const pending = await this.deps.store.listRuns({ job: job.name, statuses: ['running', 'queued'], limit: 1 });
    if (pending.length > 0) return;
    await this.deps.dispatcher.request(job, { trigger: 'start', scheduledAtMs: this.now() });
  }

  private async restartAfter(job: JobConfig, ended: Run): Promise<void> {
    if (ended.reason === 'shutdown') return; // the daemon is stopping; the next start brings the service back
    if (job.restart === 'on-failure' && ended.status === 'succeeded') return;
    if ((await this.deps.store.getJobState(job.name)).paused) return;
    const recent = await this.deps.store.listRuns({ job: job.name, limit: RECENT_RUNS });
    const quickExits = consecutiveQuickExits(recent, job.minUptimeMs);
    const delayMs = restartDelayMs(job, quickExits);
    this.deps.logger.info({ job: job.name, exit: ended.status, quick_exits: quickExits, delay_ms: delayMs }, 'service exited; restarting');
    await this.deps.dispatcher.queueStart(job, { trigger: 'restart', scheduledAtMs: this.now() + delayMs });
  }
}

/** Runs, newest first, that exited (any way but a skip) sooner than `minUptimeMs` after they started, in a row. */
export function consecutiveQuickExits(runsNewestFirst: readonly Run[], minUptimeMs: number): number {
  let count = 0;
  for (const run of runsNewestFirst) {
    if (run.status === 'skipped' || run.status === 'queued' || run.status === 'running') continue;
    if (run.duration_ms === null || run.duration_ms >= minUptimeMs) break;
    count += 1;
  }
  return count;
}

/** 0 quick exits (it ran long enough) → the initial delay; each quick exit doubles it, up to the cap. */
export function restartDelayMs(job: Pick<JobConfig, 'restartBackoff'>, quickExits: number): number {
  const { initialMs, maxMs } = job.restartBackoff;
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(quickExits - 1, 30)));
}
