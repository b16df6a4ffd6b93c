import type { JobConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import type { Logger } from '../util/logger.ts';
import type { IncidentDesk } from '../alerts/incidents.ts';
import type { RunTails } from '../runner/output/run-tails.ts';
import { crashLoopIncident } from './crash-loop.ts';

export interface ServiceSupervisorDeps {
  store: Store;
  dispatcher: Dispatcher;
  logger: Logger;
  jobs: () => Readonly<Record<string, JobConfig>>;
  /** For the crash_loop incident and its stderr tail; without them crash loops are only logged. */
  incidents?: IncidentDesk;
  tails?: RunTails;
  /**
   * Whether this node starts services that run nowhere (the cluster's leader, so each runs on one node; always when
   * absent). Every node still restarts what exits on it, through the queue any node may claim.
   */
  leading?: () => boolean;
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
    this.deps.dispatcher.events.on('run:started', this.onRunStarted);
    await this.ensureAllRunning();
  }

  /** After a reload or a resume: start any service that is neither running nor waiting to restart. */
  ensureAllRunning(): Promise<void> {
    // One pass at a time: two at once would both find a service not running and both start it.
    this.ensuring = this.ensuring.catch(() => {}).then(async () => {
      if (this.stopped || this.deps.leading?.() === false) return;
      for (const job of Object.values(this.deps.jobs())) {
        if (job.kind === 'service') await this.ensureRunning(job);
      }
    });
    return this.ensuring;
  }

  private ensuring: Promise<void> = Promise.resolve();

  stop(): void {
    this.stopped = true;
    this.deps.dispatcher.events.off('run:ended', this.onRunEnded);
    this.deps.dispatcher.events.off('run:started', this.onRunStarted);
    for (const timer of this.upTimers.values()) clearTimeout(timer);
    this.upTimers.clear();
  }

  /** Per service: the timer that, once a run has stayed up for min_uptime, ends a crash loop. */
  private readonly upTimers = new Map<string, NodeJS.Timeout>();

  private readonly onRunStarted = (run: Run): void => {
    const job = this.deps.jobs()[run.job];
    if (this.stopped || !job || job.kind !== 'service') return;
    clearTimeout(this.upTimers.get(job.name));
    const timer = setTimeout(() => {
      this.upTimers.delete(job.name);
      void this.stayedUp(job, run).catch((error: unknown) => this.deps.logger.error({ err: error, job: job.name }, 'could not clear a crash loop'));
    }, job.minUptimeMs);
    timer.unref();
    this.upTimers.set(job.name, timer);
  };

  /** A run that stays up for min_uptime ends the crash loop: the hold goes, the incident resolves. */
  private async stayedUp(job: JobConfig, run: Run): Promise<void> {
    const current = await this.deps.store.getRun(run.id);
    if (current?.status !== 'running') return;
    const state = await this.deps.store.getJobState(job.name);
    if (state.hold?.state !== 'crash_loop') return;
    await this.deps.store.setJobHold(job.name, null);
    this.deps.logger.info({ job: job.name }, `service ${job.name} has stayed up for ${job.minUptimeMs} ms: crash loop over`);
    await this.deps.incidents?.resolve('crash_loop', job.name);
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
    const state = await this.deps.store.getJobState(job.name);
    // Halted (its command cannot start): restarting it would fail the same way, thousands of times (seed 003).
    if (state.paused || state.hold?.state === 'halted') return;
    const recent = await this.deps.store.listRuns({ job: job.name, limit: RECENT_RUNS });
    const quickExits = consecutiveQuickExits(recent, job.minUptimeMs);
    const crashLooping = quickExits >= job.crashLoop.failures;
    if (crashLooping && state.hold?.state !== 'crash_loop') await this.enterCrashLoop(job, ended, recent, quickExits);
    // In a crash loop the wait is the longest one: one bad service must not hold a 1-CPU box at load 7 (seed 001).
    const delayMs = crashLooping ? job.restartBackoff.maxMs : restartDelayMs(job, quickExits);
    this.deps.logger.info({ job: job.name, exit: ended.status, quick_exits: quickExits, delay_ms: delayMs }, 'service exited; restarting');
    await this.deps.dispatcher.queueStart(job, { trigger: 'restart', scheduledAtMs: this.now() + delayMs });
  }

  private async enterCrashLoop(job: JobConfig, ended: Run, recent: readonly Run[], quickExits: number): Promise<void> {
    const since = new Date(this.now()).toISOString();
    await this.deps.store.setJobHold(job.name, { state: 'crash_loop', reason: 'crash_loop', since });
    const incident = crashLoopIncident(job, ended, recent.slice(0, quickExits), this.deps.tails?.tail(ended.id) ?? [], since);
    this.deps.logger.warn({ job: job.name, quick_exits: quickExits }, incident.summary);
    await this.deps.incidents?.open(incident);
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
