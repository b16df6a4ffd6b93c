import type { LockRecord, Store } from '../store/types.ts';
import { StoreError } from '../store/errors.ts';

/**
 * After the lock of a dead holder is taken over, the run it held is over too: if the store still says `running`,
 * it ends `lost`, so `status` and `history` stop showing a run that nothing supervises. (Without this it would stay
 * `running` until the next daemon start's recovery.)
 */
export async function endDeadHoldersRun(store: Store, holder: LockRecord, endedAt: string): Promise<void> {
  if (holder.run_id === null) return;
  const run = await store.getRun(holder.run_id);
  if (run?.status !== 'running') return;
  try {
    await store.finishRun(run.id, {
      status: 'lost',
      reason: null,
      exit_code: null,
      signal: null,
      ended_at: endedAt,
      error: `the process supervising it (pid ${holder.pid}) died; its lock was taken over`,
    });
  } catch (error) {
    if (!(error instanceof StoreError && error.code === 'not_running')) throw error;
  }
}
