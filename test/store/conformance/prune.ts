/** Conformance: pruning history (pruneRuns). */
import { describe, expect, it } from 'vitest';
import { at, ended, expectStoreError, newRun, startedRun, type StoreContext } from './fixtures.ts';

export function describePruning(ctx: StoreContext): void {
  describe('pruneRuns', () => {
    /** Inserts `count` finished runs of `job`, ending one second apart from `fromMs`; returns their ids, oldest first. */
    async function history(job: string, count: number, fromMs: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const run = newRun(job);
        await ctx.store.insertRun(run, ended('succeeded', at(fromMs + i * 1_000), { exit_code: 0 }));
        ids.push(run.id);
      }
      return ids;
    }

    async function ids(job: string): Promise<string[]> {
      return (await ctx.store.listRuns({ job })).map((r) => r.id).reverse();
    }

    it('keeps the newest keepPerJob finished runs of each job', async () => {
      const scan = await history('scan', 5, 0);
      const writer = await history('writer', 2, 0);
      const result = await ctx.store.pruneRuns({ keepPerJob: 3, olderThan: at(-1) });
      expect(result).toEqual({ deleted: 2 });
      expect(await ids('scan')).toEqual(scan.slice(2));
      expect(await ids('writer')).toEqual(writer);
    });

    it('drops finished runs that ended before olderThan, even within keepPerJob', async () => {
      const scan = await history('scan', 4, 0); // ended at 0s, 1s, 2s, 3s
      expect(await ctx.store.pruneRuns({ keepPerJob: 100, olderThan: at(2_000) })).toEqual({ deleted: 2 });
      expect(await ids('scan')).toEqual(scan.slice(2));
    });

    it('never deletes queued or running runs', async () => {
      const queued = newRun('scan', { scheduled_at: at(-1_000_000) });
      await ctx.store.insertRun(queued, { status: 'queued' });
      const running = await startedRun(ctx.store, 'scan', at(-1_000_000));
      await history('scan', 3, 0);

      expect(await ctx.store.pruneRuns({ keepPerJob: 0, olderThan: at(1_000_000) })).toEqual({ deleted: 3 });
      expect((await ids('scan')).sort()).toEqual([queued.id, running.id].sort());
      // The running run still holds its lock.
      expect((await ctx.store.getLock('scan'))?.run_id).toBe(running.id);
    });

    it('refuses a negative keepPerJob', async () => {
      await expectStoreError(ctx.store.pruneRuns({ keepPerJob: -1, olderThan: at(0) }), 'invalid_argument');
    });
  });
}
