import type { JobConfig } from '../config/types.ts';
import type { LockRecord, Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';

export interface OverlapContext {
  store: Store;
  logger: Logger;
  /** Stops a run this daemon supervises and waits for it to end; false when the run is not ours. */
  cancelLocal: (runId: string) => Promise<boolean>;
  /** Kills a holder outside this daemon (an `exec` wrapper's run): its marked tree and its process. */
  killExternal: (holder: LockRecord, killGraceMs: number) => Promise<void>;
  /**
   * Several nodes: asks the node supervising a run to cancel it as replaced (src/cluster/). Its process is on another
   * machine, where a pid means nothing here.
   */
  cancelRemote?: (runId: string) => Promise<boolean>;
}

export type OverlapDecision = 'start' | 'queue' | 'skip';

/**
 * What a start does when the job's lock is held by a live run:
 * - `skip`: record the start as skipped (`reason: overlap`).
 * - `queue`: hold it until the lock is free — at most one pending start per job; a second is skipped.
 * - `replace`: kill the running tree first (it ends `killed`, `reason: replaced`), then start. On another node (a
 *   cluster), that node is asked to kill it and the start is queued until the lock is free.
 */
export async function resolveOverlap(job: JobConfig, holder: LockRecord, ctx: OverlapContext): Promise<OverlapDecision> {
  switch (job.overlap) {
    case 'skip':
      return 'skip';
    case 'queue': {
      const pending = await ctx.store.listRuns({ job: job.name, statuses: ['queued'], limit: 1 });
      return pending.length > 0 ? 'skip' : 'queue';
    }
    case 'replace': {
      if (holder.run_id && (await ctx.cancelLocal(holder.run_id))) return 'start';
      // Another node's run: it is told to stop, and this start waits in the queue for the lock it frees.
      const held = holder.run_id && ctx.cancelRemote ? await ctx.store.getRun(holder.run_id) : null;
      if (held && held.trigger !== 'exec' && held.status === 'running' && (await ctx.cancelRemote!(held.id))) {
        ctx.logger.info({ job: job.name, run: held.id, node: held.node }, `overlap replace: asked ${held.node ?? 'its node'} to stop run ${held.id}`);
        return 'queue';
      }
      ctx.logger.warn({ job: job.name, holder }, 'overlap replace: killing a run held outside this daemon');
      await ctx.killExternal(holder, job.killGraceMs);
      return 'start';
    }
  }
}

/**
 * The overlap policy of a start handed to the node its job is pinned to (several nodes), applied against the job lock
 * every node shares: a run of it anywhere makes `skip` skip, and `replace` has that run's node told to stop it; the
 * start is queued for its node, and goes once the lock is free.
 */
export async function overlapOnItsNode(
  job: JobConfig,
  held: LockRecord | null,
  cancelRemote: ((runId: string) => Promise<boolean>) | undefined,
): Promise<'skip' | 'queue'> {
  if (held !== null && job.overlap === 'skip') return 'skip';
  if (held?.run_id && job.overlap === 'replace') await cancelRemote?.(held.run_id);
  return 'queue';
}
