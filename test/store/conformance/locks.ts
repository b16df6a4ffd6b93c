/** Conformance: locks taken outside a run start (acquireLock, renewLock, releaseLock, getLock, listLocks). */
import { describe, expect, it } from 'vitest';
import { at, expectStoreError, holder, lockRequest, type StoreContext } from './fixtures.ts';

export function describeLocks(ctx: StoreContext): void {
  describe('locks', () => {
    it('acquires a free lock and reports its holder to the next caller', async () => {
      const first = await ctx.store.acquireLock(lockRequest('daemon', 'tok-1', { ttl_ms: 60_000 }), at(0));
      expect(first).toEqual({ acquired: true });

      const second = await ctx.store.acquireLock(lockRequest('daemon', 'tok-2'), at(1_000));
      expect(second).toEqual({
        acquired: false,
        heldBy: {
          name: 'daemon',
          token: 'tok-1',
          run_id: null,
          pid: 4242,
          pid_start: 987654,
          node: 'node-a',
          acquired_at: at(0),
          expires_at: at(60_000),
        },
      });
    });

    it('takes over a lock past its expiry, and a live one only by its replaceToken', async () => {
      await ctx.store.acquireLock(lockRequest('nightly', 'a', { ttl_ms: 1_000 }), at(0));
      expect((await ctx.store.acquireLock(lockRequest('nightly', 'b'), at(1_000))).acquired).toBe(false);
      expect((await ctx.store.acquireLock(lockRequest('nightly', 'b'), at(1_001))).acquired).toBe(true);

      expect((await ctx.store.acquireLock(lockRequest('nightly', 'c', { replaceToken: 'a' }), at(2_000))).acquired).toBe(
        false,
      );
      expect((await ctx.store.acquireLock(lockRequest('nightly', 'c', { replaceToken: 'b' }), at(2_000))).acquired).toBe(
        true,
      );
      expect(await ctx.store.getLock('nightly')).toMatchObject({ token: 'c', acquired_at: at(2_000), expires_at: null });
    });

    it('releases only for the token that holds it', async () => {
      await ctx.store.acquireLock(lockRequest('nightly', 'mine'), at(0));
      expect(await ctx.store.releaseLock('nightly', 'theirs')).toBe(false);
      expect((await ctx.store.getLock('nightly'))?.token).toBe('mine');
      expect(await ctx.store.releaseLock('nightly', 'mine')).toBe(true);
      expect(await ctx.store.getLock('nightly')).toBeNull();
      expect(await ctx.store.releaseLock('nightly', 'mine')).toBe(false);
    });

    it('renews only for the token that holds it, even just past expiry if nobody took it', async () => {
      await ctx.store.acquireLock(lockRequest('nightly', 'mine', { ttl_ms: 1_000 }), at(0));
      expect(await ctx.store.renewLock('nightly', 'mine', 5_000, at(1_500))).toBe(true);
      expect((await ctx.store.getLock('nightly'))?.expires_at).toBe(at(6_500));
      expect((await ctx.store.acquireLock(lockRequest('nightly', 'other'), at(6_000))).acquired).toBe(false);

      expect(await ctx.store.renewLock('nightly', 'other', 5_000, at(1_500))).toBe(false);
      expect(await ctx.store.renewLock('missing', 'mine', 5_000, at(1_500))).toBe(false);
      await expectStoreError(ctx.store.renewLock('nightly', 'mine', -1, at(0)), 'invalid_argument');
    });

    it('lists every recorded lock by name', async () => {
      await ctx.store.acquireLock({ name: 'b', holder: holder('tb', { pid: 2, pid_start: null, node: 'node-b' }) }, at(0));
      await ctx.store.acquireLock(lockRequest('a', 'ta'), at(1));
      const locks = await ctx.store.listLocks();
      expect(locks.map((l) => [l.name, l.token])).toEqual([
        ['a', 'ta'],
        ['b', 'tb'],
      ]);
      expect(locks[1]).toMatchObject({ pid: 2, pid_start: null, node: 'node-b' });
    });

    it('returns null for a lock nobody holds', async () => {
      expect(await ctx.store.getLock('nothing')).toBeNull();
      expect(await ctx.store.listLocks()).toEqual([]);
    });
  });
}
