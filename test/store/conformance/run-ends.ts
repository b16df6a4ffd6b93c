/** Conformance: ending runs (finishRun, cancelQueuedRun) and recording a running run's pid. */
import { describe, expect, it } from 'vitest';
import {
  at,
  ended,
  expectStoreError,
  holder,
  lockRequest,
  newRun,
  retryOf,
  startedRun,
  type StoreContext,
} from './fixtures.ts';

export function describeRunEnds(ctx: StoreContext): void {
  describe('finishRun', () => {
    it('records how the run ended and its duration', async () => {
      const run = await startedRun(ctx.store, 'scan', at(1_000));
      const finished = await ctx.store.finishRun(
        run.id,
        ended('killed', at(4_500), { reason: 'memory', signal: 'SIGKILL', orphans_killed: 3, error: 'rss 600M > 512M' }),
      );
      expect(finished).toMatchObject({
        status: 'killed',
        reason: 'memory',
        exit_code: null,
        signal: 'SIGKILL',
        started_at: at(1_000),
        ended_at: at(4_500),
        duration_ms: 3_500,
        orphans_killed: 3,
        error: 'rss 600M > 512M',
      });
      expect(await ctx.store.getRun(run.id)).toEqual(finished);
    });

    it('releases every lock the run holds and no other', async () => {
      const run = await startedRun(ctx.store, 'scan');
      // A lock the run took from inside (the SDK's lock()), and one held outside any run.
      await ctx.store.acquireLock({ name: 'shared-file', holder: holder('sdk', { run_id: run.id }) }, at(10));
      await ctx.store.acquireLock(lockRequest('cli-lock', 'cli'), at(10));

      await ctx.store.finishRun(run.id, ended('succeeded', at(20), { exit_code: 0 }));

      expect(await ctx.store.getLock('scan')).toBeNull();
      expect(await ctx.store.getLock('shared-file')).toBeNull();
      expect((await ctx.store.getLock('cli-lock'))?.token).toBe('cli');
      const next = await ctx.store.startRun(newRun('scan'), lockRequest('scan', 'next'), at(21));
      expect(next.started).toBe(true);
    });

    it('queues the retry in the same step', async () => {
      const first = newRun('scan');
      await ctx.store.startRun(first, lockRequest('scan', 't1'), at(0));
      const retry = retryOf(first, { scheduled_at: at(30_000) });

      await ctx.store.finishRun(first.id, ended('failed', at(100), { exit_code: 1 }), retry);

      expect(await ctx.store.getRun(retry.id)).toMatchObject({
        status: 'queued',
        attempt: 2,
        chain_id: first.id,
        trigger: 'retry',
        scheduled_at: at(30_000),
        started_at: null,
      });
    });

    it("throws 'not_running' on a second finish, writing nothing (not even the retry)", async () => {
      const run = await startedRun(ctx.store, 'scan');
      const first = await ctx.store.finishRun(run.id, ended('failed', at(10), { exit_code: 2 }));
      const retry = retryOf(run);

      await expectStoreError(ctx.store.finishRun(run.id, ended('succeeded', at(20), { exit_code: 0 }), retry), 'not_running');
      expect(await ctx.store.getRun(run.id)).toEqual(first);
      expect(await ctx.store.getRun(retry.id)).toBeNull();
    });

    it("throws 'not_running' for a queued run and 'not_found' for an unknown one", async () => {
      const queued = newRun('scan');
      await ctx.store.insertRun(queued, { status: 'queued' });
      await expectStoreError(ctx.store.finishRun(queued.id, ended('lost', at(1))), 'not_running');
      expect((await ctx.store.getRun(queued.id))?.status).toBe('queued');
      await expectStoreError(ctx.store.finishRun('01UNKNOWN', ended('lost', at(1))), 'not_found');
    });

    it('never records a negative duration when the wall clock stepped back', async () => {
      const run = await startedRun(ctx.store, 'scan', at(5_000));
      const finished = await ctx.store.finishRun(run.id, ended('succeeded', at(4_000), { exit_code: 0 }));
      expect(finished.duration_ms).toBe(0);
    });
  });

  describe('cancelQueuedRun', () => {
    it('ends a queued run without a start, once', async () => {
      const run = newRun('writer');
      await ctx.store.insertRun(run, { status: 'queued' });

      expect(await ctx.store.cancelQueuedRun(run.id, ended('skipped', at(7), { reason: 'paused' }))).toBe(true);
      expect(await ctx.store.getRun(run.id)).toMatchObject({
        status: 'skipped',
        reason: 'paused',
        started_at: null,
        ended_at: at(7),
        duration_ms: null,
      });
      expect(await ctx.store.cancelQueuedRun(run.id, ended('skipped', at(8), { reason: 'paused' }))).toBe(false);
      expect((await ctx.store.getRun(run.id))?.ended_at).toBe(at(7));
    });

    it('returns false for a run that already started', async () => {
      const run = await startedRun(ctx.store, 'writer');
      expect(await ctx.store.cancelQueuedRun(run.id, ended('skipped', at(1)))).toBe(false);
      expect((await ctx.store.getRun(run.id))?.status).toBe('running');
    });
  });

  describe('setRunPid', () => {
    it('records the pid of a running run', async () => {
      const run = await startedRun(ctx.store, 'scan');
      await ctx.store.setRunPid(run.id, 31337);
      expect((await ctx.store.getRun(run.id))?.pid).toBe(31337);
    });

    it("throws 'not_running' once the run has ended", async () => {
      const run = await startedRun(ctx.store, 'scan');
      await ctx.store.finishRun(run.id, ended('lost', at(1), { reason: 'daemon_restart' }));
      await expectStoreError(ctx.store.setRunPid(run.id, 1), 'not_running');
      await expectStoreError(ctx.store.setRunPid('01UNKNOWN', 1), 'not_found');
    });
  });
}
