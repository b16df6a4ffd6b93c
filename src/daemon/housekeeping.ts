/**
 * Small jobs the daemon does beside its loops: recovering what a previous daemon left at start, waiting for a run's end
 * on behalf of an API long-poll, and pruning what the history and the cgroup trees no longer need.
 */
import type { EventEmitter } from 'node:events';
import type { ResolvedConfig } from '../config/types.ts';
import type { RunCgroups } from '../runner/cgroup.ts';
import type { RunLimitSupport } from '../runner/cgroup-limits.ts';
import type { DispatcherEvents } from '../scheduler/dispatcher-types.ts';
import { FINISHED_STATUSES, type Run, type Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';
import type { HostProcesses } from '../scheduler/host-processes.ts';
import { recoverRuns } from '../scheduler/recovery.ts';
import { unenforcedLimits } from '../runner/cgroup-limits.ts';
import { describeGaps, notYetEnforced } from './feature-gaps.ts';

/**
 * Before anything is scheduled: the runs a previous daemon of this node left running are killed by marker and marked
 * lost (retried per policy), and the settings this version accepts but cannot enforce here are said once.
 */
export async function recoverAtStart(deps: { store: Store; host: HostProcesses; logger: Logger; config: ResolvedConfig; limits: RunLimitSupport }): Promise<void> {
  const { store, host, logger, config } = deps;
  const recovered = await recoverRuns({
    store,
    probe: host,
    logger,
    node: config.node,
    jobs: config.jobs,
    // In a cluster the other nodes' runs are theirs; a dead node's are the leader's to reap (src/cluster/).
    ownRunsOnly: config.store.kind !== 'sqlite',
    killMarked: (run, graceMs) => host.killMarked(run.id, run.pid, graceMs),
  });
  const gaps = [...notYetEnforced(config), ...unenforcedLimits(Object.values(config.jobs), deps.limits)];
  if (gaps.length) logger.warn({ keys: gaps }, describeGaps(gaps));
  if (recovered.lost.length) logger.warn({ lost: recovered.lost.length, retried: recovered.retried }, 'recovered runs left by a previous daemon');
}

/** How often a wait for a run's end asks the store in a cluster, where the run may end on another node. */
const CLUSTER_RUN_END_POLL_MS = 500;

/** Resolves when the run reaches a final state (ended or skipped), or after `timeoutMs`, whichever is first. */
export function waitForRunEnd(
  events: EventEmitter<DispatcherEvents>,
  store: Store,
  runId: string,
  timeoutMs: number,
  opts: { cluster?: boolean } = {},
): Promise<void> {
  return new Promise((resolve) => {
    const done = (run: Run) => {
      if (run.id !== runId || !FINISHED_STATUSES.includes(run.status)) return;
      finish();
    };
    const timer = setTimeout(() => finish(), timeoutMs);
    // In a cluster the run may be another node's: its end is no event here, so the store is asked now and then.
    const look = () => void store.getRun(runId).then((run) => run && done(run), () => {});
    const elsewhere = opts.cluster ? setInterval(look, CLUSTER_RUN_END_POLL_MS) : null;
    const finish = () => {
      clearTimeout(timer);
      if (elsewhere) clearInterval(elsewhere);
      events.off('run:ended', done);
      events.off('run:skipped', done);
      resolve();
    };
    events.on('run:ended', done);
    events.on('run:skipped', done);
    // The run may have ended between the caller's read and this subscription.
    look();
  });
}

/** Prunes old runs and resolved incidents past `history`, and run cgroups a survivor held until it was gone. */
export async function prune(deps: { store: Store; logger: Logger; config: ResolvedConfig; cgroups: RunCgroups | null; limits: RunLimitSupport }): Promise<void> {
  const { store, logger } = deps;
  await deps.cgroups?.sweepEmpty();
  await deps.limits.v1Memory?.sweepEmpty();
  await deps.limits.v1Cpu?.sweepEmpty();
  const { keepRunsPerJob, maxAgeMs } = deps.config.history;
  try {
    const { deleted } = await store.pruneRuns({ keepPerJob: keepRunsPerJob, olderThan: iso(Date.now() - maxAgeMs) });
    if (deleted) logger.info({ deleted }, 'pruned old runs from the history');
    const incidents = await store.pruneIncidents(iso(Date.now() - maxAgeMs));
    if (incidents.deleted) logger.info({ deleted: incidents.deleted }, 'pruned old resolved incidents');
  } catch (error) {
    logger.error({ err: error }, 'pruning the run history failed');
  }
}
