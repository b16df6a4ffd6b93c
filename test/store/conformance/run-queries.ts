/** Conformance: reading runs back (getRun, listRuns) and the counts retries are decided by. */
import { describe, expect, it } from 'vitest';
import type { RunEnd } from '../../../src/store/types.ts';
import { at, ended, lockRequest, newRun, startedRun, type StoreContext } from './fixtures.ts';

export function describeRunQueries(ctx: StoreContext): void {
  /** Inserts a finished run of `job` (ended at `endedAt`) and returns its id. */
  async function finished(job: string, end: RunEnd, overrides: Parameters<typeof newRun>[1] = {}): Promise<string> {
    const run = newRun(job, overrides);
    await ctx.store.insertRun(run, end);
    return run.id;
  }

  describe('getRun', () => {
    it('returns null for an unknown id', async () => {
      expect(await ctx.store.getRun('01UNKNOWN')).toBeNull();
    });
  });

  describe('listRuns', () => {
    it('lists newest first by creation, whatever the scheduled times', async () => {
      const a = await finished('scan', ended('skipped', at(1)), { scheduled_at: at(50_000) });
      const b = await finished('scan', ended('skipped', at(2)), { scheduled_at: at(0) });
      const c = await finished('scan', ended('skipped', at(3)), { scheduled_at: at(90_000) });
      expect((await ctx.store.listRuns({})).map((r) => r.id)).toEqual([c, b, a]);
    });

    it('returns at most 100 by default, and `limit` when given', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 105; i++) ids.push(await finished('scan', ended('skipped', at(i))));
      const all = await ctx.store.listRuns({ job: 'scan' });
      expect(all).toHaveLength(100);
      expect(all[0]?.id).toBe(ids[104]);
      expect((await ctx.store.listRuns({ job: 'scan', limit: 3 })).map((r) => r.id)).toEqual(ids.slice(-3).reverse());
    });

    it('filters by job, statuses and node', async () => {
      const scanA = await finished('scan', ended('failed', at(1)), { node: 'node-a' });
      const scanB = await finished('scan', ended('succeeded', at(2)), { node: 'node-b' });
      const running = (await startedRun(ctx.store, 'writer')).id;

      expect((await ctx.store.listRuns({ job: 'scan' })).map((r) => r.id)).toEqual([scanB, scanA]);
      expect((await ctx.store.listRuns({ statuses: ['running', 'failed'] })).map((r) => r.id)).toEqual([running, scanA]);
      expect((await ctx.store.listRuns({ node: 'node-b' })).map((r) => r.id)).toEqual([scanB]);
      expect(await ctx.store.listRuns({ statuses: [] })).toEqual([]);
      expect(await ctx.store.listRuns({ job: 'scan', statuses: ['running'] })).toEqual([]);
    });

    it('with dueBefore lists only queued runs due by then, in due order', async () => {
      const later = newRun('writer', { scheduled_at: at(20_000) });
      const sooner = newRun('writer', { scheduled_at: at(10_000) });
      const notYet = newRun('writer', { scheduled_at: at(30_001) });
      const exactlyDue = newRun('other', { scheduled_at: at(30_000) });
      for (const run of [later, sooner, notYet, exactlyDue]) await ctx.store.insertRun(run, { status: 'queued' });
      await finished('writer', ended('skipped', at(1)), { scheduled_at: at(0) });
      await startedRun(ctx.store, 'writer');

      const due = await ctx.store.listRuns({ dueBefore: at(30_000) });
      expect(due.map((r) => r.id)).toEqual([sooner.id, later.id, exactlyDue.id]);
      expect((await ctx.store.listRuns({ dueBefore: at(30_000), job: 'writer', limit: 1 })).map((r) => r.id)).toEqual([
        sooner.id,
      ]);
    });
  });

  describe('jobRunSummaries', () => {
    it("gives each job, in the order asked, what listRuns gives for its newest runs, and its running count", async () => {
      const scans: string[] = [];
      for (let i = 0; i < 5; i++) scans.push(await finished('scan', ended('succeeded', at(i))));
      const queued = newRun('scan', { scheduled_at: at(50_000) });
      await ctx.store.insertRun(queued, { status: 'queued' });
      // Three running at once (a queue-driven job): the count holds all of them, the list only the newest.
      const running: string[] = [];
      for (let i = 0; i < 3; i++) {
        const run = newRun('writer');
        expect((await ctx.store.startRun(run, lockRequest(`writer-${i}`, `token-${run.id}`), at(i))).started).toBe(true);
        running.push(run.id);
      }
      await finished('writer', ended('failed', at(9)));

      const summaries = await ctx.store.jobRunSummaries(['writer', 'none', 'scan'], 3);
      expect(summaries.map((s) => s.job)).toEqual(['writer', 'none', 'scan']);
      for (const summary of summaries) {
        expect(summary.recent).toEqual(await ctx.store.listRuns({ job: summary.job, limit: 3 }));
      }
      expect(summaries[0]!.recent).toHaveLength(3);
      expect(summaries.map((s) => s.running)).toEqual([3, 0, 0]);
      expect(summaries[2]!.recent.map((r) => r.id)).toEqual([queued.id, scans[4], scans[3]]);
      expect(await ctx.store.jobRunSummaries([], 20)).toEqual([]);
      expect((await ctx.store.jobRunSummaries(['scan'], 0))[0]!.recent).toEqual([]);
    });
  });

  describe('countFailures', () => {
    it('counts failed, timed_out and killed attempts that ended at or after `since`', async () => {
      await finished('scan', ended('failed', at(1_000), { exit_code: 1 }));
      await finished('scan', ended('timed_out', at(2_000), { reason: 'timeout' }));
      await finished('scan', ended('killed', at(3_000), { reason: 'stalled' }));
      await finished('scan', ended('failed', at(1_000), { reason: 'start_failed' }), { trigger: 'manual' });
      // Not counted: before the window, other outcomes, not the job's fault, another job.
      await finished('scan', ended('failed', at(999), { exit_code: 1 }));
      await finished('scan', ended('succeeded', at(5_000), { exit_code: 0 }));
      await finished('scan', ended('lost', at(5_000), { reason: 'daemon_restart' }));
      await finished('scan', ended('skipped', at(5_000), { reason: 'overlap' }));
      await finished('scan', ended('killed', at(5_000), { reason: 'shutdown' }));
      await finished('other', ended('failed', at(5_000), { exit_code: 1 }));
      await startedRun(ctx.store, 'scan');

      expect(await ctx.store.countFailures('scan', at(1_000))).toBe(4);
      expect(await ctx.store.countFailures('scan', at(2_500))).toBe(1);
      expect(await ctx.store.countFailures('nobody', at(0))).toBe(0);
    });
  });

  describe('countLostInChain', () => {
    it('counts runs of the chain that were lost or killed by a shutdown', async () => {
      const chain = 'chain-1';
      await finished('scan', ended('lost', at(1), { reason: 'daemon_restart' }), { chain_id: chain });
      await finished('scan', ended('lost', at(2), { reason: 'node_lost' }), { chain_id: chain, attempt: 2 });
      await finished('scan', ended('killed', at(3), { reason: 'shutdown' }), { chain_id: chain, attempt: 3 });
      await finished('scan', ended('killed', at(4), { reason: 'stalled' }), { chain_id: chain, attempt: 4 });
      await finished('scan', ended('failed', at(5)), { chain_id: chain, attempt: 5 });
      await finished('scan', ended('lost', at(6)), { chain_id: 'chain-2' });

      expect(await ctx.store.countLostInChain(chain)).toBe(3);
      expect(await ctx.store.countLostInChain('chain-3')).toBe(0);
    });
  });
}
