/**
 * Composes the watching and alerting parts (issue 4) for the daemon: incidents, the outbox, checks, run and stall
 * watchers, the self ping and the loop-lag sampler — and answers what /healthz, status and /metrics ask of them.
 */
import { OUTBOX } from '../config/defaults.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { IncidentDesk } from '../alerts/incidents.ts';
import { OutboxSender } from '../alerts/outbox.ts';
import type { HealthReason } from '../http/control-plane.ts';
import type { RunTails } from '../runner/output/run-tails.ts';
import type { Run, Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { LoopLag } from '../util/loop-lag.ts';
import { humanDuration, iso } from '../util/time.ts';
import { CheckWatcher, type CheckSnapshot } from '../watch/check-watcher.ts';
import { RunWatch, type RunEvents } from '../watch/run-watch.ts';
import { SelfPing } from '../watch/self-ping.ts';
import { StallWatcher } from '../watch/stall-watcher.ts';
import { LazyMetrics } from '../http/lazy-metrics.ts';
import { DuplicateScanner, type DuplicateProcess } from '../watch/duplicates.ts';
import { DuplicateWatch, duplicateIncident } from '../watch/duplicate-watch.ts';
import type { JobConfig } from '../config/types.ts';
import { buildStatus } from '../status/build-status.ts';

/** /healthz turns 503 when the event loop lags this much (a blocked loop delays every timer, kills included). */
const MAX_LOOP_LAG_MS = 5_000;
/** …or when a due notification has waited this long without the sender getting to it. */
const OUTBOX_STUCK_MS = 5 * 60_000;

export interface WatchingDeps {
  store: Store;
  logger: Logger;
  config: () => ResolvedConfig;
  events: RunEvents;
  tails: RunTails;
  cancelRun: (runId: string, reason: 'stalled') => boolean;
  /** Where status is served from (for job states in /metrics). */
  baseUrl: () => string;
  /** The /proc to scan for duplicate workers (tests use fixture trees). */
  procRoot?: string;
  /** Whether this node sends notifications and reminders (the cluster's leader; always on SQLite). */
  leading?: () => boolean;
}

export class Watching {
  readonly incidents: IncidentDesk;
  readonly outbox: OutboxSender;
  readonly checks: CheckWatcher;
  readonly stalls: StallWatcher;
  readonly loopLag = new LoopLag();
  readonly metrics: LazyMetrics;
  readonly duplicates: DuplicateWatch;
  readonly #runs: RunWatch;
  readonly #selfPing: SelfPing;
  readonly #deps: WatchingDeps;

  constructor(deps: WatchingDeps) {
    this.#deps = deps;
    const { store, logger, config } = deps;
    this.incidents = new IncidentDesk({ store, logger, config, leading: deps.leading });
    this.outbox = new OutboxSender({ store, logger, config, incidents: this.incidents, leading: deps.leading });
    this.checks = new CheckWatcher({ store, logger, config, incidents: this.incidents });
    this.#runs = new RunWatch({ store, events: deps.events, checks: this.checks, incidents: this.incidents, tails: deps.tails, logger, config });
    this.stalls = new StallWatcher({
      store,
      events: deps.events,
      incidents: this.incidents,
      tails: deps.tails,
      logger,
      config,
      cancel: deps.cancelRun,
    });
    this.metrics = new LazyMetrics({
      checkStates: async () => (await this.checks.snapshot()).map(({ record, view }) => ({ name: record.name, state: view.state })),
      openIncidents: async () => {
        const counts = new Map<string, number>();
        for (const incident of await store.listIncidents({ open: true, limit: 100_000 })) counts.set(incident.kind, (counts.get(incident.kind) ?? 0) + 1);
        return [...counts].map(([kind, count]) => ({ kind, count }));
      },
      outboxBacklog: async () => (await this.outbox.backlog()).reduce((sum, channel) => sum + channel.pending, 0),
      jobStates: async () => (await buildStatus({ config: config(), store, daemon: null, baseUrl: deps.baseUrl() })).jobs.map((job) => ({ name: job.name, state: job.state })),
      eventLoopLagSeconds: () => this.loopLag.lagMs / 1000,
    });
    this.duplicates = new DuplicateWatch({
      scanner: new DuplicateScanner({ procRoot: deps.procRoot }),
      jobs: () => Object.values(config().jobs),
      onFound: (job, pids) => this.#reportDuplicates(job, pids),
      onCleared: async (job) => void (await this.incidents.resolve('process.duplicate', job.name)),
      onError: (error) => logger.error({ err: error }, 'the duplicate scan failed'),
    });
    this.#selfPing = new SelfPing({
      url: () => config().selfPing,
      healthy: async () => (await this.healthReasons()).length === 0,
      logger,
    });
  }

  /** Before the scheduler starts: run events from the first run on are watched. */
  async start(): Promise<void> {
    this.#deps.events.on('run:started', this.#duplicatesOnStart);
    this.#deps.events.on('run:ended', this.#duplicatesOnEnd);
    // A duplicate reported by a previous daemon is watched until it is gone, so its incident can clear.
    for (const incident of await this.#deps.store.listIncidents({ open: true, limit: 10_000 })) {
      if (incident.kind !== 'process.duplicate') continue;
      const job = this.#deps.config().jobs[incident.subject];
      if (job) void this.duplicates.reportedBefore(job);
      else await this.incidents.resolve('process.duplicate', incident.subject);
    }
    this.#deps.events.on('run:ended', this.#observe);
    this.#deps.events.on('run:skipped', this.#observe);
    this.#runs.start();
    this.stalls.start();
    this.loopLag.start();
    await this.checks.start();
    await this.incidents.start();
    this.outbox.start();
    this.#selfPing.start();
  }

  /**
   * This node has just become the cluster's leader: it sends what is due, and reminders. Also its fallback poll while
   * it leads, for notifications other nodes queued (their incidents open where their runs end).
   */
  async lead(): Promise<void> {
    await this.incidents.renotifyDue();
    await this.outbox.drain();
  }

  async reload(): Promise<void> {
    await this.checks.start();
    await this.incidents.renotifyDue();
    await this.outbox.drain();
  }

  readonly #observe = (run: Run): void => this.metrics.observeRunEnded(run);

  /** run:started fires before the spawn: the scan right before a run starts (seed 001's second worker copy). */
  readonly #duplicatesOnStart = (run: Run): void => {
    const job = this.#deps.config().jobs[run.job];
    if (job) void this.duplicates.runStarting(job);
  };

  readonly #duplicatesOnEnd = (run: Run): void => this.duplicates.runEnded({ name: run.job });

  async #reportDuplicates(job: JobConfig, pids: DuplicateProcess[]): Promise<void> {
    const input = duplicateIncident(job, pids);
    const incident = await this.incidents.open(input);
    // open() leaves an open incident as it was: a different set of copies must still show.
    if (incident.summary !== input.summary) await this.#deps.store.updateIncident(incident.id, input.summary, { ...incident.detail, ...input.detail });
  }

  async stop(): Promise<void> {
    this.#deps.events.off('run:started', this.#duplicatesOnStart);
    this.#deps.events.off('run:ended', this.#duplicatesOnEnd);
    await this.duplicates.stop();
    this.#deps.events.off('run:ended', this.#observe);
    this.#deps.events.off('run:skipped', this.#observe);
    this.#selfPing.stop();
    this.#runs.stop();
    this.stalls.stop();
    this.checks.stop();
    this.incidents.stop();
    this.loopLag.stop();
    await this.outbox.stop();
  }

  /** What /healthz reports beyond the scheduler loop: checks down, a lagging loop, an outbox not draining. */
  async healthReasons(): Promise<HealthReason[]> {
    const reasons: HealthReason[] = [];
    for (const { record, view } of await this.checks.snapshot()) {
      if (view.state !== 'down') continue;
      const since = record.down_since ?? (view.dueAt !== null ? iso(view.dueAt) : null);
      reasons.push({
        subject: record.name,
        kind: record.origin === 'job' ? 'job_late' : 'check_down',
        summary: `${record.origin === 'job' ? 'job' : 'check'} ${record.name} is down${since ? ` since ${since}` : ''}`,
      });
    }
    const lag = this.loopLag.lagMs;
    if (lag > MAX_LOOP_LAG_MS) reasons.push({ subject: 'daemon', kind: 'daemon', summary: `the event loop lagged ${humanDuration(lag)}` });
    for (const channel of await this.outbox.backlog()) {
      if (channel.pending > 0 && channel.attempts >= OUTBOX.failing_after) {
        reasons.push({ subject: channel.channel, kind: 'channel_failing', summary: `channel ${channel.channel} is failing (${channel.attempts} attempts): ${channel.last_error ?? 'unknown error'}` });
      }
    }
    const next = await this.#deps.store.nextNotificationDue();
    if (next !== null && Date.now() - Date.parse(next) > OUTBOX_STUCK_MS) {
      reasons.push({ subject: 'daemon', kind: 'daemon', summary: `a notification due since ${next} has not been sent: the outbox is not draining` });
    }
    return reasons;
  }

  snapshot(): Promise<CheckSnapshot[]> {
    return this.checks.snapshot();
  }
}
