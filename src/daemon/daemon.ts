import { mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { ResolvedConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import { healthOf, openObservedStore } from '../store/observed-store.ts';
import { EventHub } from './events.ts';
import { composeParts, type DaemonParts } from './compose.ts';
import { createApp } from '../http/app.ts';
import { listen, type RunningServer } from '../http/server.ts';
import type { ControlPlane, HealthReason } from '../http/control-plane.ts';
import { RunTokens } from '../security/run-token.ts';
import type { DaemonInfo } from '../status/build-status.ts';
import { daemonRoot, removeRuntimeRecord, tryWriteRuntimeRecord } from '../status/runtime-record.ts';
import { VERSION } from '../version.ts';
import { iso } from '../util/time.ts';
import type { Logger } from '../util/logger.ts';
import { ensureApiToken } from './api-token.ts';
import { prune, recoverAtStart, waitForRunEnd } from './housekeeping.ts';
import { connectClusterDuty } from './cluster-duty.ts';
import { sessionName, type NodeView } from '../cluster/membership.ts';
import { HostProcesses } from '../scheduler/host-processes.ts';
import { detectRunCgroups, type RunCgroups } from '../runner/cgroup.ts';
import { describeLimitSupport, detectRunLimits, type RunLimitSupport } from '../runner/cgroup-limits.ts';
import type { Watching } from './watching.ts';
import type { Tasks } from './tasks.ts';
import type { Coordination } from '../coordination/coordination.ts';
import type { PingIntake } from '../http/ping-intake.ts';
import type { CheckSnapshot } from '../watch/check-watcher.ts';
import { startSystemdNotify, type SystemdNotify } from './sd-notify.ts';
import { daemonHealthReasons } from './watchdog.ts';
import { HostFindingsCache, doctorSource } from '../dashboard/host-findings.ts';
import type { HostFindings } from '../http/control-plane.ts';

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
  /**
   * No later than when the running config's file was read: the process start for the first one, the moment before
   * reading for a reload. `nightshift status` compares it with the file's mtime and ctime to know whether the daemon
   * runs the file as it is now (then it need not validate the file itself; src/cli/daemon-status.ts).
   */
  private configReadAt = Math.floor(performance.timeOrigin);
  private readonly host: HostProcesses;
  /** The parts composeParts() made and wired (src/daemon/compose.ts). */
  private readonly parts: DaemonParts;
  readonly watching: Watching;
  /** Task queues: the queue service and the drivers of `queue:` jobs (src/daemon/tasks.ts). */
  readonly tasks: Tasks;
  /** Shared state, named locks, upstream freshness (src/coordination/). */
  readonly coordination: Coordination;
  readonly runTokens = new RunTokens(randomUUID());
  /** What happens, for the dashboard and /api/v1/events (src/daemon/events.ts). */
  readonly eventHub = new EventHub();
  private readonly findings = new HostFindingsCache(doctorSource(() => this.current), { onFresh: () => this.eventHub.publish({ type: 'host.checked' }) });
  private token = '';
  private server: RunningServer | null = null;
  private disconnectDuty: (() => void) | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** systemd's notify socket (READY=1, the watchdog), when systemd started the daemon with one (sd-notify.ts). */
  private systemd: SystemdNotify | null = null;
  private stopping: Promise<void> | null = null;
  /** The runtime record's file, once written (writeRuntimeRecord). */
  private runtimeRecord: string | null = null;
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
    session: string,
  ) {
    this.options = options;
    this.cgroups = cgroups;
    this.limits = limits;
    this.current = options.config;
    this.logger = options.logger;
    this.store = store;
    this.host = host;
    this.pidStart = pidStart;
    const parts = composeParts({
      store,
      host,
      logger: this.logger,
      initial: options.config,
      config: () => this.current,
      url: () => this.url(),
      pidStart,
      startedAtMs: this.startedAt,
      cgroups,
      limits,
      runTokens: this.runTokens,
      eventHub: this.eventHub,
      session,
      procRoot: options.procRoot,
    });
    this.parts = parts;
    this.watching = parts.watching;
    this.coordination = parts.coordination;
    this.tasks = parts.tasks;
  }

  /** Opens the state, recovers what a previous daemon left running, listens, and starts scheduling. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const config = options.config;
    await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    // Watched: an unreachable database shows on /healthz and is probed until it is back (src/store/store-health.ts).
    // Every connection names this node and process, so a cluster that declares it dead can end them all.
    const session = sessionName(config.node);
    const store = await openObservedStore(config.store, options.logger, { applicationName: session });
    const host = new HostProcesses(options.procRoot);
    const cgroups = await detectRunCgroups({ procRoot: options.procRoot, logger: options.logger });
    host.useCgroups(cgroups);
    if (cgroups) options.logger.info({ cgroup: cgroups.base }, `runs are tracked in cgroup ${cgroups.base}`);
    else options.logger.info('no writable cgroup v2: runs are tracked by marker and process group only');
    const limits = await detectRunLimits({ cgroups, procRoot: options.procRoot, logger: options.logger });
    options.logger.info({ memory: limits.memory, cpu: limits.cpu }, describeLimitSupport(limits));
    const daemon = new Daemon(options, store, host, await host.startTimeOf(process.pid), cgroups, limits, session);
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
    // First, so no run inherits NOTIFY_SOCKET (sd-notify.ts says why).
    this.systemd = startSystemdNotify({ logger: this.logger, health: { state: () => this.state, lastSchedulerTickAt: () => this.parts.scheduler.lastTickAt } });
    await this.store.migrate();
    await this.parts.membership.start();
    this.token = await ensureApiToken(config.stateDir, config.http.token);
    await recoverAtStart({ store: this.store, host: this.host, logger: this.logger, config, limits: this.limits });
    this.server = await listen(createApp(this), config.http.host, this.options.port ?? config.http.port);
    await this.writeRuntimeRecord();
    await this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    // Watchers first: the first run the scheduler starts is already watched.
    await this.watching.start();
    await this.parts.scheduler.start();
    await this.parts.services.start();
    await this.tasks.start();
    this.disconnectDuty = connectClusterDuty(this.parts.membership, {
      config: () => this.current,
      scheduler: this.parts.scheduler,
      dispatcher: this.parts.dispatcher,
      services: this.parts.services,
      watching: this.watching,
      tasks: this.tasks,
      logger: this.logger,
    });
    this.state = 'running';
    this.systemd?.ready(`running ${Object.keys(config.jobs).length} jobs; API on ${this.url()}`);
    this.logger.info(
      { project: config.project, url: this.url(), jobs: Object.keys(config.jobs).length, state_dir: config.stateDir },
      `nightshift ${VERSION} listening on ${this.url()}`,
    );
  }

  /** Re-reads the config. A valid one applies to new runs (running ones keep theirs); an invalid one is logged and ignored. */
  async reload(): Promise<boolean> {
    let next: ResolvedConfig;
    const readAt = Date.now();
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
    this.configReadAt = readAt;
    await this.writeRuntimeRecord();
    await this.parts.containment.reload();
    await this.parts.scheduler.reload();
    this.tasks.reload();
    await this.watching.reload();
    await this.parts.services.ensureAllRunning();
    this.logger.info({ jobs: Object.keys(next.jobs).length }, 'config reloaded');
    return true;
  }

  /** Stops scheduling, lets runs finish for `shutdown_grace`, kills what remains (recorded), closes everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      this.systemd?.stopping();
      if (this.pruneTimer) clearInterval(this.pruneTimer);
      this.disconnectDuty?.();
      this.parts.services.stop();
      await this.parts.scheduler.stop();
      await this.parts.membership.resign();
      await this.tasks.stop();
      await this.parts.dispatcher.drain(this.current.shutdownGraceMs);
      await this.watching.stop();
      if (this.runtimeRecord) await removeRuntimeRecord(this.runtimeRecord, process.pid);
      await this.server?.close();
      await this.parts.logs.close();
      // Last: the others take over this node's duties once it has nothing left running.
      await this.parts.membership.stop();
      healthOf(this.store)?.stop();
      await this.store.close();
      this.state = 'stopped';
      this.systemd?.close();
      this.logger.info('nightshift stopped');
    })();
    return this.stopping;
  }

  /** A second stop signal: skip the rest of the shutdown grace and kill the runs now. */
  hurry(): void {
    this.parts.dispatcher.killAll('shutdown');
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
    return {
      pid: process.pid,
      version: VERSION,
      started_at: iso(this.startedAt),
      node: this.current.node,
      leader: this.parts.membership.leading,
      config_file: this.current.configPath,
      config_read_at: iso(this.configReadAt),
    };
  }

  clusterNodes(): NodeView[] {
    return this.parts.membership.nodes();
  }

  apiToken(): string {
    return this.token;
  }

  async trigger(jobName: string, trigger: 'manual' | 'api'): Promise<Run> {
    const job = this.current.jobs[jobName];
    if (!job) throw new Error(`no job named ${jobName}`);
    return this.parts.dispatcher.request(job, { trigger, scheduledAtMs: Date.now() });
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    await this.store.setPaused(job, paused);
    await this.watching.checks.setPaused(job, paused);
    const config = this.current.jobs[job];
    if (!paused && config) await this.parts.containment.resume(config);
    this.logger.info({ job }, paused ? 'job paused' : 'job resumed');
    this.eventHub.publish({ type: 'job.changed', job, change: paused ? 'paused' : 'resumed' });
    if (!paused) {
      this.parts.scheduler.wake();
      this.tasks.wake();
      await this.parts.services.ensureAllRunning();
    }
  }

  cancelRun(runId: string): boolean {
    return this.parts.dispatcher.cancel(runId, 'an API cancel request');
  }

  async cancelElsewhere(run: Run): Promise<boolean> {
    return run.node !== this.current.node && (await this.parts.membership.askToCancel(run.id, 'api'));
  }

  waitForRunEnd(runId: string, timeoutMs: number): Promise<void> {
    return waitForRunEnd(this.parts.dispatcher.events, this.store, runId, timeoutMs, { cluster: this.current.store.kind !== 'sqlite' });
  }

  get pings(): PingIntake {
    return this.parts.pings;
  }

  hostFindings(): Promise<HostFindings | null> {
    return this.findings.findings();
  }

  async resetBreaker(job: string): Promise<void> {
    const config = this.current.jobs[job];
    if (!config) throw new Error(`no job named ${job}`);
    await this.parts.containment.resume(config);
    this.logger.info({ job }, 'breaker reset');
    this.eventHub.publish({ type: 'job.changed', job, change: 'reset' });
    this.parts.scheduler.wake();
    await this.parts.services.ensureAllRunning();
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
    await this.parts.containment.recordOutput(run, outputs, spend);
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

  healthReasons(): Promise<HealthReason[]> {
    const watched = () => this.watching.healthReasons();
    return daemonHealthReasons({ running: this.state === 'running', store: this.store, watched, lastSchedulerTickAt: this.parts.scheduler.lastTickAt });
  }

  /** For tests and the SIGTERM path: the dispatcher's events. */
  get events() {
    return this.parts.dispatcher.events;
  }

  /**
   * Where `nightshift status` finds this daemon without reading the config (src/status/runtime-record.ts); written
   * once listening and after each reload, removed at stop. Failing to write it costs only speed: logged, not fatal.
   */
  private async writeRuntimeRecord(): Promise<void> {
    const { pid, config_file, config_read_at } = this.daemonInfo();
    const url = daemonRoot(this.server?.host ?? this.current.http.host, this.server?.port ?? this.current.http.port);
    this.runtimeRecord = (await tryWriteRuntimeRecord({ url, pid, config_file, config_read_at }, this.logger)) ?? this.runtimeRecord;
  }

  private prune(): Promise<void> {
    return prune({ store: this.store, logger: this.logger, config: this.current, cgroups: this.cgroups, limits: this.limits });
  }
}
