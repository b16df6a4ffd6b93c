/**
 * Builds the daemon's parts and wires them to each other: the dispatcher and its launcher, the scheduler, the watchers,
 * containment, coordination, task queues, services and the event feed. Kept apart from daemon.ts, which owns start,
 * reload and stop and answers the API: this is the one place that says what talks to what.
 */
import type { JobConfig, ResolvedConfig } from '../config/types.ts';
import type { Store } from '../store/types.ts';
import { healthOf } from '../store/observed-store.ts';
import { Dispatcher } from '../scheduler/dispatcher.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { ProcessLauncher } from '../scheduler/run-launcher.ts';
import type { HostProcesses } from '../scheduler/host-processes.ts';
import { LogManager } from '../runner/output/log-manager.ts';
import type { RunCgroups } from '../runner/cgroup.ts';
import type { RunLimitSupport } from '../runner/cgroup-limits.ts';
import { RunTails } from '../runner/output/run-tails.ts';
import type { RunTokens } from '../security/run-token.ts';
import { ServiceSupervisor } from '../supervisor/services.ts';
import { Containment } from '../supervisor/containment.ts';
import { Admission, describeRefusal } from '../supervisor/admission.ts';
import { Coordination } from '../coordination/coordination.ts';
import type { PingIntake } from '../http/ping-intake.ts';
import type { Logger } from '../util/logger.ts';
import { Watching } from './watching.ts';
import { Tasks } from './tasks.ts';
import { connectEvents, publishingIntake, type EventHub } from './events.ts';
import { createMembership } from './cluster-duty.ts';
import type { Membership } from '../cluster/membership.ts';

export interface PartsContext {
  store: Store;
  host: HostProcesses;
  logger: Logger;
  /** The config at start; `config()` is the running one (it changes on reload). */
  initial: ResolvedConfig;
  config: () => ResolvedConfig;
  url: () => string;
  pidStart: number | null;
  /** When the daemon started: a schedule fire before it is a catch-up, not on time. */
  startedAtMs: number;
  cgroups: RunCgroups | null;
  limits: RunLimitSupport;
  runTokens: RunTokens;
  eventHub: EventHub;
  /** The application_name of this process's PostgreSQL connections (src/cluster/membership.ts sessionName). */
  session: string;
  procRoot?: string;
}

export interface DaemonParts {
  logs: LogManager;
  tails: RunTails;
  dispatcher: Dispatcher;
  scheduler: Scheduler;
  watching: Watching;
  coordination: Coordination;
  containment: Containment;
  tasks: Tasks;
  services: ServiceSupervisor;
  /** Where pings go: the check watcher, publishing each ping on the event feed. */
  pings: PingIntake;
  /** This node among the daemons sharing the store (src/cluster/): whether it leads decides what it does. */
  membership: Membership;
}

export function composeParts(ctx: PartsContext): DaemonParts {
  const { store, host, logger, initial, config } = ctx;
  // Made last (its reaper restarts services and wakes the scheduler); everything above asks it through this.
  let membership: Membership | undefined;
  const leading = (): boolean => membership!.leading;
  // Several nodes on PostgreSQL cannot see each other's processes; on SQLite every holder is on this host.
  const sameHost = initial.store.kind === 'sqlite';
  const tails = new RunTails();
  const logs = new LogManager({
    logsDir: `${initial.stateDir}/logs`,
    maxTotalBytes: initial.logs.maxTotalBytes,
    minFreeDisk: initial.logs.minFreeDisk,
  });
  const admission = new Admission({ procRoot: ctx.procRoot, minAvailableBytes: () => config().limits.minAvailableMemoryBytes, logger });
  // Containment and the task queues are made after the dispatcher (they need the incidents, which need the
  // dispatcher's events); the dispatcher reaches them through these bindings, set below before anything runs.
  let containment: Containment | undefined;
  let tasks: Tasks | undefined;
  const dispatcher = new Dispatcher({
    store,
    launcher: new ProcessLauncher({
      sinkFor: (job, runId) => tails.wrap(runId, logs.sinkFor(job.name, runId, job.logs)),
      daemonUrl: ctx.url,
      tokens: ctx.runTokens,
      extraEnv: (job, run) => tasks!.runEnv(job, run),
      cgroups: ctx.cgroups,
      limits: ctx.limits,
    }),
    probe: host,
    logger,
    node: initial.node,
    pinning: !sameHost,
    ...(sameHost ? {} : { cancelRemote: (runId: string) => membership!.askToCancel(runId, 'replaced') }),
    jobs: () => config().jobs,
    maxConcurrentRuns: () => config().limits.maxConcurrentRuns,
    sameHost,
    pidStart: ctx.pidStart,
    killExternal: (holder, graceMs) => host.killHolder(holder, graceMs),
    // A run end retried while the database is away goes as soon as the store is seen back (until-stored.ts).
    storeUp: () => healthOf(store)?.whenUp() ?? null,
    admit: async () => {
      const result = await admission.check();
      return result.ok ? null : describeRefusal(result);
    },
    policy: {
      blockStart: (job, trigger, state) => containment!.blockStart(job, trigger, state),
      reviewEnd: (job, run, end) => containment!.reviewEnd(job, run, end),
      degradeStart: (job) => containment!.degradeStart(job),
    },
  });
  const scheduler = new Scheduler({ store, dispatcher, logger, jobs: () => config().jobs, startedAtMs: ctx.startedAtMs, leading });
  const watching = new Watching({
    store,
    logger,
    config,
    events: dispatcher.events,
    tails,
    cancelRun: (runId, reason) => dispatcher.cancel(runId, reason),
    baseUrl: ctx.url,
    procRoot: ctx.procRoot,
    leading,
  });
  const coordination = new Coordination({ store, probe: host, sameHost, node: initial.node, pidStart: ctx.pidStart, jobs: () => config().jobs });
  containment = new Containment({
    store,
    logger,
    config,
    incidents: watching.incidents,
    tails,
    activeRuns: () => dispatcher.activeRuns(),
    cancel: (runId, reason) => dispatcher.cancel(runId, reason),
    upstream: (job) => coordination.judge(job),
  });
  // A `queue:` job pinned to another node (several nodes only) is driven there: its runs must start there.
  const runsHere = (job: JobConfig): boolean => sameHost || job.node === null || job.node === initial.node;
  tasks = new Tasks({ store, logger, config, dispatcher, url: ctx.url, incidents: watching.incidents, runsHere });
  const services = new ServiceSupervisor({ store, dispatcher, logger, jobs: () => config().jobs, incidents: watching.incidents, tails, leading });
  connectEvents(ctx.eventHub, { runs: dispatcher.events, incidents: watching.incidents.events });
  const pings = publishingIntake(watching.checks, ctx.eventHub);
  membership = createMembership({
    config: initial,
    session: ctx.session,
    store,
    host,
    logger,
    pidStart: ctx.pidStart,
    running: () => dispatcher.activeCount,
    jobs: () => config().jobs,
    onReaped: () => {
      scheduler.wake();
      void services.ensureAllRunning();
    },
  });
  return { logs, tails, dispatcher, scheduler, watching, coordination, containment, tasks, services, pings, membership };
}
