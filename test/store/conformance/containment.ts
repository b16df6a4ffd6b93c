/** Conformance: job holds, reported outputs in windows, breakers, and a run's Retry-After. */
import { describe, expect, it } from 'vitest';
import { at, lockRequest, newRun, type StoreContext } from './fixtures.ts';

export function describeContainment(ctx: StoreContext): void {
  describe('containment', () => {
    it('sets and clears a hold without touching paused or the fire cursor', async () => {
      await ctx.store.setPaused('chat', true);
      await ctx.store.setLastFire('chat', at(1000));
      await ctx.store.setJobHold('chat', { state: 'crash_loop', reason: 'crash_loop', since: at(2000) });
      expect(await ctx.store.getJobState('chat')).toEqual({
        job: 'chat',
        paused: true,
        last_fire_at: at(1000),
        hold: { state: 'crash_loop', reason: 'crash_loop', since: at(2000) },
      });
      await ctx.store.setJobHold('chat', null);
      expect((await ctx.store.getJobState('chat')).hold).toBeNull();
      await ctx.store.setJobHold('fresh', { state: 'halted', reason: 'start_failed', since: at(0) });
      expect((await ctx.store.listJobStates()).find((s) => s.job === 'fresh')?.hold?.reason).toBe('start_failed');
    });

    it('sums outputs and spend over a window, across the jobs of a group', async () => {
      await ctx.store.recordOutput({ job: 'writer', run_id: 'r1', outputs: 3, spend: 0.25, at: at(0) });
      await ctx.store.recordOutput({ job: 'writer', run_id: 'r1', outputs: 2, spend: 0, at: at(60_000) });
      await ctx.store.recordOutput({ job: 'poster', run_id: null, outputs: 1, spend: 1.5, at: at(120_000) });
      expect(await ctx.store.sumOutputs(['writer', 'poster'], at(0))).toEqual({ outputs: 6, spend: 1.75 });
      expect(await ctx.store.sumOutputs(['writer'], at(1))).toEqual({ outputs: 2, spend: 0 });
      expect(await ctx.store.sumOutputs([], at(0))).toEqual({ outputs: 0, spend: 0 });
      expect(await ctx.store.pruneOutputs(at(60_000))).toEqual({ deleted: 1 });
      expect(await ctx.store.sumOutputs(['writer', 'poster'], at(0))).toEqual({ outputs: 3, spend: 1.5 });
    });

    it('opens a breaker once, lists it, closes it once, and can open it again', async () => {
      const breaker = { name: 'publishing', reason: 'outputs' as const, opened_at: at(0), detail: '23 outputs in 10m, limit 20' };
      expect(await ctx.store.openBreaker(breaker)).toBe(true);
      expect(await ctx.store.openBreaker({ ...breaker, opened_at: at(5) })).toBe(false);
      expect(await ctx.store.listOpenBreakers()).toEqual([breaker]);
      expect(await ctx.store.closeBreaker('publishing', at(7))).toBe(true);
      expect(await ctx.store.closeBreaker('publishing', at(8))).toBe(false);
      expect(await ctx.store.listOpenBreakers()).toEqual([]);
      expect(await ctx.store.openBreaker({ ...breaker, reason: 'spend', opened_at: at(9) })).toBe(true);
      expect((await ctx.store.listOpenBreakers())[0]).toMatchObject({ reason: 'spend', opened_at: at(9) });
    });

    it('records a reset when it closes an open breaker, and keeps it across a reopen', async () => {
      const breaker = { name: 'outputs:publishing', reason: 'outputs' as const, opened_at: at(0), detail: null };
      expect(await ctx.store.breakerResetAt('outputs:publishing')).toBeNull(); // no row yet
      await ctx.store.openBreaker(breaker);
      expect(await ctx.store.breakerResetAt('outputs:publishing')).toBeNull(); // open, never reset
      await ctx.store.closeBreaker('outputs:publishing', at(60_000));
      expect(await ctx.store.breakerResetAt('outputs:publishing')).toBe(at(60_000));
      // Closing what is not open is no reset: a resume of a job whose breaker is closed leaves its window alone.
      expect(await ctx.store.closeBreaker('outputs:publishing', at(90_000))).toBe(false);
      expect(await ctx.store.breakerResetAt('outputs:publishing')).toBe(at(60_000));
      // Reopening keeps the last reset (the window still starts there); the next close moves it.
      await ctx.store.openBreaker({ ...breaker, opened_at: at(120_000) });
      expect(await ctx.store.breakerResetAt('outputs:publishing')).toBe(at(60_000));
      await ctx.store.closeBreaker('outputs:publishing', at(180_000));
      expect(await ctx.store.breakerResetAt('outputs:publishing')).toBe(at(180_000));
      // Per breaker: another one's reset is its own.
      await ctx.store.openBreaker({ ...breaker, name: 'spend:writer', reason: 'spend' });
      expect(await ctx.store.breakerResetAt('spend:writer')).toBeNull();
    });

    it('keeps a Retry-After only on a running run', async () => {
      const run = newRun('api');
      await ctx.store.startRun(run, lockRequest('job:api', run.id), at(0));
      expect(await ctx.store.setRunRetryAfter(run.id, at(120_000))).toBe(true);
      expect((await ctx.store.getRun(run.id))?.retry_after_at).toBe(at(120_000));
      expect(await ctx.store.setRunRetryAfter('01NOTARUN0000000000000000', at(0))).toBe(false);
    });
  });
}
