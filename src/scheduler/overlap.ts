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
}

export type OverlapDecision = 'start' | 'queue' | 'skip';

/**
 * What a start does when the job's lock is held by a live run:
 * - `skip`: record the start as skipped (`reason: overlap`).
 * - `queue`: hold it until the lock is free — at most one pending start per job; a second is skipped.
 * - `replace`: kill the running tree first (it ends `killed`, `reason: replaced`), then start.
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
      ctx.logger.warn({ job: job.name, holder }, 'overlap replace: killing a run held outside this daemon');
      await ctx.killExternal(holder, job.killGraceMs);
      return 'start';
    }
  }
}
