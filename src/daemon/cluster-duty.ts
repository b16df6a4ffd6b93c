/**
 * The daemon's side of cluster membership (src/cluster/): which membership a store gets, and what the daemon's parts do
 * when this node starts leading, is fenced, or is woken by another node.
 *
 * - leading: the scheduler fires (from the failover bound on: a fire the dead leader could not run in time runs now),
 *   services start here if they run nowhere, notifications and reminders are sent from here;
 * - fenced (declared dead while away): the runs this node still supervises are killed — they were lost and retried
 *   elsewhere, and the store no longer lets this node record their ends;
 * - woken: a queued run or task is looked at now rather than at the next fallback poll.
 */
import type { ResolvedConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import { MAX_WAIT_MS, type Scheduler } from '../scheduler/scheduler.ts';
import type { HostProcesses } from '../scheduler/host-processes.ts';
import type { ServiceSupervisor } from '../supervisor/services.ts';
import type { Logger } from '../util/logger.ts';
import { VERSION } from '../version.ts';
import { SoloMembership, type CancelReason, type Membership } from '../cluster/membership.ts';
import { PostgresMembership } from '../cluster/postgres-membership.ts';
import { nodeReaper } from '../cluster/node-reaper.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import type { Watching } from './watching.ts';
import type { Tasks } from './tasks.ts';
import { NODE_LOST } from '../scheduler/run-end.ts';

export interface MembershipContext {
  config: ResolvedConfig;
  /** The application_name of this process's PostgreSQL connections (membership.ts sessionName). */
  session: string;
  store: Store;
  host: HostProcesses;
  logger: Logger;
  pidStart: number | null;
  /** Runs this node supervises now (the solo node's status line). */
  running: () => number;
  /** The current jobs (a dead node's runs are retried by the running config's policy). */
  jobs: () => ResolvedConfig['jobs'];
  /** After the leader marked a dead node's runs lost: its services start here, its retries are looked at. */
  onReaped: () => void;
}

export function createMembership(ctx: MembershipContext): Membership {
  const { config, store, host, logger } = ctx;
  if (config.store.kind === 'sqlite') {
    return new SoloMembership(config.node, () => acquireInstanceLock(store, host, config, ctx.pidStart), ctx.running);
  }
  const killMarked = (run: Run, graceMs: number) => host.killMarked(run.id, run.pid, graceMs);
  return new PostgresMembership({
    url: config.store.url,
    node: config.node,
    session: ctx.session,
    version: VERSION,
    heartbeatMs: config.cluster.heartbeatMs,
    deadAfterMs: config.cluster.deadAfterMs,
    logger,
    isAlive: (pid) => host.isAlive(pid, null),
    reap: (node) =>
      nodeReaper({
        store,
        logger,
        node: config.node,
        get jobs() {
          return ctx.jobs();
        },
        killMarked,
        onReaped: ctx.onReaped,
      })(node),
  });
}

export interface DutyParts {
  config: () => ResolvedConfig;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  services: ServiceSupervisor;
  watching: Watching;
  tasks: Tasks;
  logger: Logger;
}

/**
 * Connects membership to the daemon's parts once they have started; returns the disconnect. On SQLite (one node that
 * always leads) there is nothing to connect.
 */
export function connectClusterDuty(membership: Membership, parts: DutyParts): () => void {
  if (membership instanceof SoloMembership) return () => {};
  const { scheduler, dispatcher, services, watching, tasks, logger } = parts;
  const report = (what: string) => (error: unknown) => logger.error({ err: error }, `${what} failed`);
  const onLeader = (leading: boolean): void => {
    if (!leading) return;
    const { heartbeatMs, deadAfterMs } = parts.config().cluster;
    void (async () => {
      await scheduler.lead(Date.now() - deadAfterMs - heartbeatMs);
      await services.ensureAllRunning();
      await watching.lead();
    })().catch(report('taking up the leader duties'));
  };
  const onFenced = (): void => dispatcher.abandonAll(NODE_LOST);
  const onWake = (kind: 'runs' | 'tasks'): void => (kind === 'runs' ? scheduler.wake() : tasks.wakeAll());
  membership.events.on('leader', onLeader);
  membership.events.on('fenced', onFenced);
  membership.events.on('wake', onWake);
  const onCancel = (runId: string, why: CancelReason): void => void dispatcher.cancel(runId, why === 'replaced' ? 'replaced' : 'an API cancel request');
  membership.events.on('cancel', onCancel);
  // The leader's fallback poll for notifications other nodes queued (no NOTIFY for those: a few seconds is fine).
  const poll = setInterval(() => {
    if (membership.leading) void watching.outbox.drain();
  }, parts.config().cluster.heartbeatMs);
  poll.unref();
  // The slow fallback for a wake-up this node did not hear (its session was down when another node queued work): the
  // scheduler looks at queued runs every MAX_WAIT_MS anyway; task drivers look again as often.
  const fallback = setInterval(() => tasks.wakeAll(), MAX_WAIT_MS);
  fallback.unref();
  // Leadership taken while the daemon was still starting was not seen by a listener: take up its duties now.
  if (membership.leading) onLeader(true);
  return () => {
    clearInterval(poll);
    clearInterval(fallback);
    membership.events.off('leader', onLeader);
    membership.events.off('fenced', onFenced);
    membership.events.off('wake', onWake);
    membership.events.off('cancel', onCancel);
  };
}
