/**
 * Conformance: coordination (shared state with versions and an audit log, what upstream freshness reads, a queued
 * run's degraded note, and named locks going with the run that holds them).
 */
import { describe, expect, it } from 'vitest';
import type { StateWrite } from '../../../src/store/types.ts';
import { at, ended, expectStoreError, lockRequest, newRun, startedRun, type StoreContext } from './fixtures.ts';

function write(key: string, value: unknown, overrides: Partial<StateWrite> = {}): StateWrite {
  return {
    key,
    value_json: JSON.stringify(value),
    by: { job: 'writer', run_id: 'run-1' },
    at: at(0),
    log_keep: 100,
    log_value_max_bytes: 1024,
    ...overrides,
  };
}

export function describeCoordination(ctx: StoreContext): void {
  describe('coordination: state', () => {
    it('returns null for a key never written, then versions from 1 with who wrote it', async () => {
      expect(await ctx.store.getState('articles')).toBeNull();
      expect(await ctx.store.setState(write('articles', { n: 1 }))).toEqual({ written: true, version: 1 });
      expect(await ctx.store.setState(write('articles', { n: 2 }, { at: at(1_000), by: { job: null, run_id: null } }))).toEqual({
        written: true,
        version: 2,
      });
      expect(await ctx.store.getState('articles')).toEqual({
        key: 'articles',
        value: { n: 2 },
        version: 2,
        updated_at: at(1_000),
        updated_by_job: null,
        updated_by_run: null,
      });
    });

    it('compare-and-set writes only at the expected version (0: only a new key) and reports the current one', async () => {
      expect(await ctx.store.setState(write('k', 'a', { expect_version: 1 }))).toEqual({ written: false, current_version: 0 });
      expect(await ctx.store.setState(write('k', 'a', { expect_version: 0 }))).toEqual({ written: true, version: 1 });
      expect(await ctx.store.setState(write('k', 'b', { expect_version: 0 }))).toEqual({ written: false, current_version: 1 });
      expect(await ctx.store.setState(write('k', 'b', { expect_version: 1 }))).toEqual({ written: true, version: 2 });
      expect(await ctx.store.setState(write('k', 'c', { expect_version: 1 }))).toEqual({ written: false, current_version: 2 });
      expect((await ctx.store.getState('k'))?.value).toBe('b');
    });

    it('concurrent compare-and-set writers of one key: exactly one wins each version', async () => {
      await ctx.store.setState(write('counter', 0));
      const attempts = await Promise.all(
        Array.from({ length: 8 }, (_, i) => ctx.store.setState(write('counter', i + 1, { expect_version: 1 }))),
      );
      expect(attempts.filter((a) => a.written)).toEqual([{ written: true, version: 2 }]);
    });

    it('keeps an audit log per key, newest first, trimmed to log_keep, with large values logged by size', async () => {
      for (let i = 1; i <= 5; i++) {
        await ctx.store.setState(write('k', { i }, { log_keep: 3, at: at(i), by: { job: `job-${i}`, run_id: `run-${i}` } }));
      }
      await ctx.store.setState(write('other', 'x'));
      await ctx.store.setState(write('k', 'y'.repeat(50), { log_keep: 3, log_value_max_bytes: 10, at: at(6) }));
      const log = await ctx.store.listStateLog('k', 100);
      expect(log.map((e) => e.version)).toEqual([6, 5, 4]);
      expect(log[0]).toEqual({ key: 'k', version: 6, value: null, value_kept: false, size_bytes: 52, job: 'writer', run_id: 'run-1', at: at(6) });
      expect(log[1]).toEqual({ key: 'k', version: 5, value: { i: 5 }, value_kept: true, size_bytes: 7, job: 'job-5', run_id: 'run-5', at: at(5) });
      expect(await ctx.store.listStateLog('k', 1)).toHaveLength(1);
      expect(await ctx.store.listStateLog('missing', 10)).toEqual([]);
    });

    it('lists keys in name order without their values', async () => {
      await ctx.store.setState(write('b', 1));
      await ctx.store.setState(write('a', 2));
      const keys = await ctx.store.listStateKeys(10);
      expect(keys.map((k) => [k.key, k.version])).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      expect(keys[0]).not.toHaveProperty('value');
    });

    it('refuses a value that is not JSON text and a bad expect_version', async () => {
      await expectStoreError(ctx.store.setState({ ...write('k', 1), value_json: '{nope' }), 'invalid_argument');
      await expectStoreError(ctx.store.setState(write('k', 1, { expect_version: -1 })), 'invalid_argument');
      expect(await ctx.store.getState('k')).toBeNull();
    });
  });

  describe('coordination: job activity and degraded runs', () => {
    it('reports the last success, a running run\'s last sign of life, and whether the job is known', async () => {
      expect(await ctx.store.jobActivity('scan')).toEqual({ last_success_at: null, running_alive_at: null, known: false });
      const first = await startedRun(ctx.store, 'scan', at(0));
      await ctx.store.finishRun(first.id, ended('succeeded', at(1_000), { exit_code: 0 }));
      const second = await startedRun(ctx.store, 'scan', at(2_000));
      await ctx.store.finishRun(second.id, ended('failed', at(3_000), { exit_code: 1 }));
      const third = await startedRun(ctx.store, 'scan', at(4_000));
      expect(await ctx.store.jobActivity('scan')).toEqual({ last_success_at: at(1_000), running_alive_at: at(4_000), known: true });
      await ctx.store.recordHeartbeat(third.id, at(5_000));
      expect((await ctx.store.jobActivity('scan')).running_alive_at).toBe(at(5_000));
    });

    it('sets the degraded note of a queued run only', async () => {
      const queued = await ctx.store.insertRun(newRun('writer'), { status: 'queued' });
      expect(await ctx.store.setQueuedRunDegraded(queued.id, 'upstream scan is stale')).toBe(true);
      expect((await ctx.store.getRun(queued.id))?.degraded).toBe('upstream scan is stale');
      expect(await ctx.store.setQueuedRunDegraded(queued.id, null)).toBe(true);
      expect((await ctx.store.getRun(queued.id))?.degraded).toBeNull();
      const running = await startedRun(ctx.store, 'other');
      expect(await ctx.store.setQueuedRunDegraded(running.id, 'x')).toBe(false);
    });
  });

  describe('coordination: named locks', () => {
    it('a named lock a run holds is released when the run ends, and only that run\'s', async () => {
      const run = await startedRun(ctx.store, 'writer');
      const mine = lockRequest('lock:publish', 'tok-run', { ttl_ms: 30_000 });
      expect(await ctx.store.acquireLock({ ...mine, holder: { ...mine.holder, run_id: run.id } }, at(10))).toEqual({ acquired: true });
      expect(await ctx.store.acquireLock(lockRequest('lock:other', 'tok-cli', { ttl_ms: 30_000 }), at(10))).toEqual({ acquired: true });
      await ctx.store.finishRun(run.id, ended('killed', at(20), { signal: 'SIGKILL' }));
      expect(await ctx.store.getLock('lock:publish')).toBeNull();
      expect((await ctx.store.getLock('lock:other'))?.token).toBe('tok-cli');
    });
  });
}
