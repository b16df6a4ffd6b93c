import { mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { ResolvedConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import { FINISHED_STATUSES } from '../store/types.ts';
import { openStore } from '../store/open.ts';
import { Dispatcher } from '../scheduler/dispatcher.ts';
import { Scheduler, MAX_WAIT_MS } from '../scheduler/scheduler.ts';
import { ProcessLauncher } from '../scheduler/run-launcher.ts';
import { recoverRuns } from '../scheduler/recovery.ts';
import { createApp } from '../http/app.ts';
import { listen, type RunningServer } from '../http/server.ts';
import type { ControlPlane, HealthReason } from '../http/control-plane.ts';
import { RunTokens } from '../security/run-token.ts';
import type { DaemonInfo } from '../status/build-status.ts';
import { VERSION } from '../version.ts';
import { iso } from '../util/time.ts';
import type { Logger } from '../util/logger.ts';
import { ensureApiToken } from './api-token.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { describeGaps, notYetEnforced } from './feature-gaps.ts';
import { HostProcesses } from '../scheduler/host-processes.ts';
import { LogManager } from '../runner/output/log-manager.ts';
import { detectRunCgroups, type RunCgroups } from '../runner/cgroup.ts';
import { describeLimitSupport, detectRunLimits, unenforcedLimits, type RunLimitSupport } from '../runner/cgroup-limits.ts';
import { ServiceSupervisor } from '../supervisor/services.ts';
import { RunTails } from '../runner/output/run-tails.ts';
import { Watching } from './watching.ts';
import { Containment } from '../supervisor/containment.ts';
import { Admission, describeRefusal } from '../supervisor/admission.ts';
import type { PingIntake } from '../http/ping-intake.ts';
import type { CheckSnapshot } from '../watch/check-watcher.ts';

export type DaemonState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface DaemonOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** Re-reads the config file for a reload; a throw keeps the running config. */
  reloadConfig: () => Promise<ResolvedConfig>;
  /** Overrides `http.port` (tests listen on port 0). */
  port?: number;
  procRoot?: string;
}

/** How often old runs are pruned from the history. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The daemon: composes store, recovery, dispatcher, scheduler and HTTP API, and owns start, reload and stop.
 * Start and stop are idempotent; `stop()` while stopping returns the same promise.
 */
export class Daemon implements ControlPlane {
  state: DaemonState = 'starting';
  readonly store: Store;
  private current: ResolvedConfig;
  private readonly options: DaemonOptions;
  private readonly logger: Logger;
  private readonly startedAt = Date.now();
  private readonly host: HostProcesses;
  private readonly logs: LogManager;
  private readonly dispatcher: Dispatcher;
  private readonly scheduler: Scheduler;
  private readonly services: ServiceSupervisor;
  private readonly tails = new RunTails();
  readonly watching: Watching;
  private readonly containment: Containment;
  readonly runTokens = new RunTokens(randomUUID());
  private token = '';
  private server: RunningServer | null = null;
  private releaseInstance: (() => Promise<void>) | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private readonly pidStart: number | null;
  /** Where runs get their cgroups (detected once at start); null: marker and process group only. */
  private readonly cgroups: RunCgroups | null;
  /** How memory and cpu limits are enforced on this host (cgroup v2 or v1, RSS sampling, or not at all for cpu). */
  private readonly limits: RunLimitSupport;

  private constructor(
    options: DaemonOptions,
    store: Store,
    host: HostProcesses,
    pidStart: number | null,
    cgroups: RunCgroups | null,
    limits: RunLimitSupport,
  ) {
    this.options = options;
    this.cgroups = cgroups;
    this.limits = limits;
    this.current = options.config;
    this.logger = options.logger;
    this.store = store;
    this.host = host;
    this.pidStart = pidStart;
    this.logs = new LogManager({
      logsDir: `${options.config.stateDir}/logs`,
      maxTotalBytes: options.config.logs.maxTotalBytes,
      minFreeDisk: options.config.logs.minFreeDisk,
    });
    const admission = new Admission({ procRoot: options.procRoot, minAvailableBytes: () => this.current.limits.minAvailableMemoryBytes, logger: this.logger });
    this.dispatcher = new Dispatcher({
      store,
      launcher: new ProcessLauncher({
        sinkFor: (job, runId) => this.tails.wrap(runId, this.logs.sinkFor(job.name, runId, job.logs)),
        daemonUrl: () => this.url(),
        tokens: this.runTokens,
        cgroups,
        limits,
      }),
      probe: this.host,
      logger: this.logger,
      node: options.config.node,
      jobs: () => this.current.jobs,
      maxConcurrentRuns: () => this.current.limits.maxConcurrentRuns,
      sameHost: options.config.store.kind === 'sqlite',
      pidStart,
      killExternal: (holder, graceMs) => this.host.killHolder(holder, graceMs),
      admit: async () => {
        const result = await admission.check();
        return result.ok ? null : describeRefusal(result);
      },
      // Containment is made after the dispatcher (it needs the incidents, which need the dispatcher's events).
      policy: {
        blockStart: (job, trigger, state) => this.containment.blockStart(job, trigger, state),
        reviewEnd: (job, run, end) => this.containment.reviewEnd(job, run, end),
      },
    });
    this.scheduler = new Scheduler({
      store,
      dispatcher: this.dispatcher,
      logger: this.logger,
      jobs: () => this.current.jobs,
      startedAtMs: this.startedAt,
    });
    this.watching = new Watching({
      store,
      logger: this.logger,
      config: () => this.current,
      events: this.dispatcher.events,
      tails: this.tails,
      cancelRun: (runId, reason) => this.dispatcher.cancel(runId, reason),
      baseUrl: () => this.url(),
      procRoot: options.procRoot,
    });
    this.containment = new Containment({
      store,
      logger: this.logger,
      config: () => this.current,
      incidents: this.watching.incidents,
      tails: this.tails,
      activeRuns: () => this.dispatcher.activeRuns(),
      cancel: (runId, reason) => this.dispatcher.cancel(runId, reason),
    });
    this.services = new ServiceSupervisor({
      store,
      dispatcher: this.dispatcher,
      logger: this.logger,
      jobs: () => this.current.jobs,
      incidents: this.watching.incidents,
      tails: this.tails,
    });
  }

  /** Opens the state, recovers what a previous daemon left running, listens, and starts scheduling. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const config = options.config;
    await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    const store = await openStore(config.store);
    const host = new HostProcesses(options.procRoot);
    const cgroups = await detectRunCgroups({ procRoot: options.procRoot, logger: options.logger });
    host.useCgroups(cgroups);
    if (cgroups) options.logger.info({ cgroup: cgroups.base }, `runs are tracked in cgroup ${cgroups.base}`);
    else options.logger.info('no writable cgroup v2: runs are tracked by marker and process group only');
    const limits = await detectRunLimits({ cgroups, procRoot: options.procRoot, logger: options.logger });
    options.logger.info({ memory: limits.memory, cpu: limits.cpu }, describeLimitSupport(limits));
    const daemon = new Daemon(options, store, host, await host.startTimeOf(process.pid), cgroups, limits);
    try {
      await daemon.boot();
      return daemon;
    } catch (error) {
      await daemon.stop();
      throw error;
    }
  }

  private async boot(): Promise<void> {
    const config = this.current;
    await this.store.migrate();
    this.releaseInstance = await acquireInstanceLock(this.store, this.host, config, this.pidStart);
    this.token = await ensureApiToken(config.stateDir, config.http.token);
    const recovered = await recoverRuns({
      store: this.store,
      probe: this.host,
      logger: this.logger,
      node: config.node,
      jobs: config.jobs,
      killMarked: (run, graceMs) => this.host.killMarked(run.id, run.pid, graceMs),
    });
    const gaps = [...notYetEnforced(config), ...unenforcedLimits(Object.values(config.jobs), this.limits)];
    if (gaps.length) this.logger.warn({ keys: gaps }, describeGaps(gaps));
    if (recovered.lost.length) this.logger.warn({ lost: recovered.lost.length, retried: recovered.retried }, 'recovered runs left by a previous daemon');
    this.server = await listen(createApp(this), config.http.host, this.options.port ?? config.http.port);
    await this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    // Watchers first: the first run the scheduler starts is already watched.
    await this.watching.start();
    await this.scheduler.start();
    await this.services.start();
    this.state = 'running';
    this.logger.info(
      { project: config.project, url: this.url(), jobs: Object.keys(config.jobs).length, state_dir: config.stateDir },
      `nightshift ${VERSION} listening on ${this.url()}`,
    );
  }

  /** Re-reads the config. A valid one applies to new runs (running ones keep theirs); an invalid one is logged and ignored. */
  async reload(): Promise<boolean> {
    let next: ResolvedConfig;
    try {
      next = await this.options.reloadConfig();
    } catch (error) {
      this.logger.error({ err: error }, `config reload failed; keeping the running config: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    const needsRestart = (['stateDir', 'store', 'http', 'node'] as const).filter(
      (key) => JSON.stringify(next[key]) !== JSON.stringify(this.current[key]),
    );
    if (needsRestart.length) this.logger.warn({ keys: needsRestart }, 'these settings change only on a daemon restart');
    this.current = { ...next, stateDir: this.current.stateDir, store: this.current.store, http: this.current.http, node: this.current.node };
    await this.containment.reload();
    await this.scheduler.reload();
    await this.watching.reload();
    await this.services.ensureAllRunning();
    this.logger.info({ jobs: Object.keys(next.jobs).length }, 'config reloaded');
    return true;
  }

  /** Stops scheduling, lets runs finish for `shutdown_grace`, kills what remains (recorded), closes everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      if (this.pruneTimer) clearInterval(this.pruneTimer);
      this.services.stop();
      await this.scheduler.stop();
      await this.dispatcher.drain(this.current.shutdownGraceMs);
      await this.watching.stop();
      await this.server?.close();
      await this.logs.close();
      await this.releaseInstance?.();
      await this.store.close();
      this.state = 'stopped';
      this.logger.info('nightshift stopped');
    })();
    return this.stopping;
  }

  /** A second stop signal: skip the rest of the shutdown grace and kill the runs now. */
  hurry(): void {
    this.dispatcher.killAll('shutdown');
  }

  url(): string {
    const host = this.server?.host ?? this.current.http.host;
    const port = this.server?.port ?? this.current.http.port;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  // ControlPlane

  config(): ResolvedConfig {
    return this.current;
  }

  daemonInfo(): DaemonInfo {
    return { pid: process.pid, version: VERSION, started_at: iso(this.startedAt), node: this.current.node, leader: true };
  }

  apiToken(): string {
    return this.token;
  }

  async trigger(jobName: string, trigger: 'manual' | 'api'): Promise<Run> {
    const job = this.current.jobs[jobName];
    if (!job) throw new Error(`no job named ${jobName}`);
    return this.dispatcher.request(job, { trigger, scheduledAtMs: Date.now() });
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    await this.store.setPaused(job, paused);
    await this.watching.checks.setPaused(job, paused);
    const config = this.current.jobs[job];
    if (!paused && config) await this.containment.resume(config);
    this.logger.info({ job }, paused ? 'job paused' : 'job resumed');
    if (!paused) {
      this.scheduler.wake();
      await this.services.ensureAllRunning();
    }
  }

  cancelRun(runId: string): boolean {
    return this.dispatcher.cancel(runId, 'an API cancel request');
  }

  waitForRunEnd(runId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const events = this.dispatcher.events;
      const done = (run: Run) => {
        if (run.id !== runId || !FINISHED_STATUSES.includes(run.status)) return;
        finish();
      };
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        events.off('run:ended', done);
        events.off('run:skipped', done);
        resolve();
      };
      events.on('run:ended', done);
      events.on('run:skipped', done);
      // The run may have ended between the caller's read and this subscription.
      void this.store.getRun(runId).then((run) => run && done(run));
    });
  }

  get pings(): PingIntake {
    return this.watching.checks;
  }

  heartbeat(runId: string, note: string | null): Promise<boolean> {
    return this.watching.stalls.heartbeat(runId, note);
  }

  checks(): Promise<CheckSnapshot[]> {
    return this.watching.snapshot();
  }

  metrics(): Promise<{ contentType: string; body: string }> {
    return this.watching.metrics.render();
  }

  async reportOutput(runId: string, outputs: number, spend: number): Promise<boolean> {
    const run = await this.store.getRun(runId);
    if (run?.status !== 'running') return false;
    await this.containment.recordOutput(run, outputs, spend);
    return true;
  }

  async setRetryAfter(runId: string, afterMs: number): Promise<string | null> {
    const at = iso(Date.now() + afterMs);
    return (await this.store.setRunRetryAfter(runId, at)) ? at : null;
  }

  reportError(context: string, error: unknown): void {
    this.logger.error({ err: error }, context);
  }

  runIdForToken(token: string): string | null {
    return this.runTokens.verify(token);
  }

  async healthReasons(): Promise<HealthReason[]> {
    const reasons: HealthReason[] = this.state === 'running' ? await this.watching.healthReasons() : [];
    const lastTick = this.scheduler.lastTickAt;
    if (this.state === 'running' && Date.now() - lastTick > 2 * MAX_WAIT_MS + 5_000) {
      reasons.push({ subject: 'daemon', kind: 'daemon', summary: `the scheduler loop has not run since ${iso(lastTick)}` });
    }
    return reasons;
  }

  /** For tests and the SIGTERM path: the dispatcher's events. */
  get events() {
    return this.dispatcher.events;
  }

  private async prune(): Promise<void> {
    await this.cgroups?.sweepEmpty(); // run cgroups a survivor held at the run's end, once it is gone
    await this.limits.v1Memory?.sweepEmpty();
    await this.limits.v1Cpu?.sweepEmpty();
    const { keepRunsPerJob, maxAgeMs } = this.current.history;
    try {
      const { deleted } = await this.store.pruneRuns({ keepPerJob: keepRunsPerJob, olderThan: iso(Date.now() - maxAgeMs) });
      if (deleted) this.logger.info({ deleted }, 'pruned old runs from the history');
      const incidents = await this.store.pruneIncidents(iso(Date.now() - maxAgeMs));
      if (incidents.deleted) this.logger.info({ deleted: incidents.deleted }, 'pruned old resolved incidents');
    } catch (error) {
      this.logger.error({ err: error }, 'pruning the run history failed');
    }
  }
}
