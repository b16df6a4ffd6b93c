/** Conformance: starting runs under their job's lock (startRun, startQueuedRun) and recording runs (insertRun). */
import { describe, expect, it } from 'vitest';
import { at, ended, expectStoreError, lockRequest, newRun, startedRun, type StoreContext } from './fixtures.ts';

export function describeRunStarts(ctx: StoreContext): void {
  describe('startRun', () => {
    it('inserts a running run and takes its lock in one step', async () => {
      const run = newRun('scan', { degraded: 'upstream scan is 3h old' });
      const result = await ctx.store.startRun(run, lockRequest('scan', 'tok-1'), at(1_000));

      expect(result.started).toBe(true);
      if (!result.started) return;
      expect(result.run).toEqual({
        id: run.id,
        job: 'scan',
        attempt: 1,
        status: 'running',
        reason: null,
        trigger: 'schedule',
        exit_code: null,
        signal: null,
        scheduled_at: at(0),
        started_at: at(1_000),
        ended_at: null,
        duration_ms: null,
        pid: null,
        degraded: 'upstream scan is 3h old',
        orphans_killed: 0,
        node: 'node-a',
        chain_id: run.id,
        error: null,
        heartbeat_at: null,
        retry_after_at: null,
      });
      expect(await ctx.store.getRun(run.id)).toEqual(result.run);
      expect(await ctx.store.getLock('scan')).toEqual({
        name: 'scan',
        token: 'tok-1',
        run_id: run.id,
        pid: 4242,
        pid_start: 987654,
        node: 'node-a',
        acquired_at: at(1_000),
        expires_at: null,
      });
    });

    it('records the run as the lock holder whatever holder.run_id says, and a ttl as expires_at', async () => {
      const run = newRun('scan');
      const lock = lockRequest('scan', 'tok-1', { ttl_ms: 30_000 });
      await ctx.store.startRun(run, { ...lock, holder: { ...lock.holder, run_id: null } }, at(0));
      const record = await ctx.store.getLock('scan');
      expect(record?.run_id).toBe(run.id);
      expect(record?.expires_at).toBe(at(30_000));
    });

    it('writes nothing and names the holder when the lock is held', async () => {
      const first = await startedRun(ctx.store, 'scan');
      const second = newRun('scan');
      const result = await ctx.store.startRun(second, lockRequest('scan', 'tok-2'), at(5_000));

      expect(result).toEqual({ started: false, heldBy: expect.objectContaining({ run_id: first.id, name: 'scan' }) });
      expect(await ctx.store.getRun(second.id)).toBeNull();
      expect((await ctx.store.listRuns({ job: 'scan' })).map((r) => r.id)).toEqual([first.id]);
    });

    it('is not re-entrant: the same token asking again is told the lock is held', async () => {
      await ctx.store.startRun(newRun('scan'), lockRequest('scan', 'tok-1'), at(0));
      const again = await ctx.store.startRun(newRun('scan'), lockRequest('scan', 'tok-1'), at(1));
      expect(again.started).toBe(false);
    });

    it('takes an expired lock, but not one at its expiry instant', async () => {
      await ctx.store.acquireLock(lockRequest('scan', 'old', { ttl_ms: 10_000 }), at(0));

      const atExpiry = await ctx.store.startRun(newRun('scan'), lockRequest('scan', 'new'), at(10_000));
      expect(atExpiry.started).toBe(false);

      const after = await ctx.store.startRun(newRun('scan'), lockRequest('scan', 'new'), at(10_001));
      expect(after.started).toBe(true);
      expect((await ctx.store.getLock('scan'))?.token).toBe('new');
    });

    it('takes a live lock only when replaceToken names its holder', async () => {
      const old = await startedRun(ctx.store, 'scan');
      const oldToken = (await ctx.store.getLock('scan'))?.token;

      const wrong = await ctx.store.startRun(newRun('scan'), lockRequest('scan', 'new', { replaceToken: 'nope' }), at(1));
      expect(wrong.started).toBe(false);

      const replacing = newRun('scan');
      const right = await ctx.store.startRun(replacing, lockRequest('scan', 'new', { replaceToken: oldToken }), at(2));
      expect(right.started).toBe(true);
      expect(await ctx.store.getLock('scan')).toMatchObject({ token: 'new', run_id: replacing.id });
      // The replaced run is the caller's to finish; the store does not touch it.
      expect((await ctx.store.getRun(old.id))?.status).toBe('running');
    });

    it('refuses a run id used twice', async () => {
      const run = newRun('scan');
      await ctx.store.insertRun(run, { status: 'queued' });
      await expectStoreError(ctx.store.startRun(run, lockRequest('scan', 'tok'), at(0)), 'conflict');
      expect(await ctx.store.getLock('scan')).toBeNull();
    });

    it('rejects a time it cannot parse', async () => {
      await expectStoreError(ctx.store.startRun(newRun('scan'), lockRequest('scan', 't'), 'yesterday'), 'invalid_argument');
    });
  });

  describe('startQueuedRun', () => {
    it('moves a queued run to running under its lock', async () => {
      const run = newRun('writer', { scheduled_at: at(60_000), trigger: 'retry', attempt: 2, chain_id: 'c1' });
      await ctx.store.insertRun(run, { status: 'queued' });
      const result = await ctx.store.startQueuedRun(run.id, lockRequest('writer', 'tok'), at(61_000));

      expect(result.started).toBe(true);
      if (!result.started) return;
      expect(result.run).toMatchObject({ id: run.id, status: 'running', started_at: at(61_000), attempt: 2 });
      expect(result.run.scheduled_at).toBe(at(60_000));
      expect(await ctx.store.getLock('writer')).toMatchObject({ token: 'tok', run_id: run.id });
    });

    it('records the node that starts it, not the one that queued it', async () => {
      const run = newRun('writer', { node: 'queued-by' });
      await ctx.store.insertRun(run, { status: 'queued' });
      const lock = lockRequest('writer', 'tok');
      const result = await ctx.store.startQueuedRun(run.id, { ...lock, holder: { ...lock.holder, node: 'started-by' } }, at(61_000));
      expect(result.started && result.run.node).toBe('started-by');
      expect((await ctx.store.getRun(run.id))!.node).toBe('started-by');
    });

    it('leaves the run queued and names the holder when the lock is held', async () => {
      const holder = await startedRun(ctx.store, 'writer');
      const run = newRun('writer');
      await ctx.store.insertRun(run, { status: 'queued' });
      const result = await ctx.store.startQueuedRun(run.id, lockRequest('writer', 'tok-2'), at(1));

      expect(result).toEqual({ started: false, heldBy: expect.objectContaining({ run_id: holder.id }) });
      expect((await ctx.store.getRun(run.id))?.status).toBe('queued');
    });

    it("throws 'not_queued' and writes nothing when another process already took or ended the run", async () => {
      const run = newRun('writer');
      await ctx.store.insertRun(run, { status: 'queued' });
      await ctx.store.startQueuedRun(run.id, lockRequest('writer', 'first'), at(1));
      await ctx.store.finishRun(run.id, ended('succeeded', at(2), { exit_code: 0 }));

      await expectStoreError(ctx.store.startQueuedRun(run.id, lockRequest('writer', 'second'), at(3)), 'not_queued');
      expect(await ctx.store.getLock('writer')).toBeNull();
      expect((await ctx.store.getRun(run.id))?.status).toBe('succeeded');
    });

    it("throws 'not_queued' for a running run even though its lock could be replaced", async () => {
      const running = await startedRun(ctx.store, 'writer');
      const token = (await ctx.store.getLock('writer'))?.token ?? '';
      await expectStoreError(
        ctx.store.startQueuedRun(running.id, lockRequest('writer', 'other', { replaceToken: token }), at(1)),
        'not_queued',
      );
      expect((await ctx.store.getLock('writer'))?.token).toBe(token);
    });

    it("throws 'not_found' for an unknown run", async () => {
      await expectStoreError(ctx.store.startQueuedRun('01NOPE', lockRequest('writer', 't'), at(0)), 'not_found');
    });
  });

  describe('insertRun', () => {
    it('records a queued run with no start or end', async () => {
      const run = newRun('writer', { trigger: 'manual' });
      const inserted = await ctx.store.insertRun(run, { status: 'queued' });
      expect(inserted).toMatchObject({ status: 'queued', started_at: null, ended_at: null, duration_ms: null });
      expect(await ctx.store.getRun(run.id)).toEqual(inserted);
    });

    it('records a skipped run as never started: ended_at is the decision time, no start, no duration', async () => {
      const run = newRun('scan', { scheduled_at: at(0) });
      const skipped = await ctx.store.insertRun(run, ended('skipped', at(250), { reason: 'overlap' }));
      expect(skipped).toMatchObject({
        status: 'skipped',
        reason: 'overlap',
        scheduled_at: at(0),
        started_at: null,
        ended_at: at(250),
        duration_ms: null,
      });
      expect(await ctx.store.getRun(run.id)).toEqual(skipped);
    });

    it('keeps the detail of a start that failed before the lock was taken', async () => {
      const run = newRun('scan');
      const failed = await ctx.store.insertRun(
        run,
        ended('failed', at(5), { reason: 'start_failed', error: 'spawn /opt/x ENOENT' }),
      );
      expect(failed).toMatchObject({ status: 'failed', reason: 'start_failed', error: 'spawn /opt/x ENOENT' });
    });
  });
}
