/**
 * The lock service on a real SQLite store: a holder that stops renewing is reclaimed after its ttl (seed 002's
 * 30-minute watchdog, with the ttl the holder chose); renewing keeps it; locks are not re-entrant; a waiter gets the
 * lock as soon as it is released. Holders on another host (a fleet) are never probed, only timed out.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockService } from '../../src/coordination/lock-service.ts';
import { isCoordinationError } from '../../src/coordination/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { useTempDir } from '../store/helpers/temp-dir.ts';

const tmp = useTempDir();
const T0 = Date.parse('2026-01-01T00:00:00Z');

async function setup(sameHost = false) {
  const store = await openSqliteStore(join(tmp.path, 'state.db'));
  tmp.onCleanup(() => store.close());
  await store.migrate();
  let now = T0;
  const probe = { isAlive: async () => true, markedPids: async () => [] };
  const locks = new LockService({ store, probe, sameHost, node: 'node-a', now: () => now });
  return { store, locks, advance: (ms: number) => (now += ms) };
}

const me = { run_id: null, pid: 100, pid_start: 1 };
const other = { run_id: null, pid: 200, pid_start: 2 };

describe('LockService', () => {
  it('reclaims a holding whose ttl passed without a renewal; the old token can no longer renew or release', async () => {
    const { locks, advance } = await setup();
    const first = await locks.tryAcquire('publish', me, 1_000);
    expect(first.lock).toMatchObject({ name: 'publish', pid: 100, node: 'node-a', expires_at: new Date(T0 + 1_000).toISOString() });

    advance(1_000);
    expect((await locks.tryAcquire('publish', other, 1_000)).lock).toBeNull(); // held through its expiry instant
    advance(1);
    const second = await locks.tryAcquire('publish', other, 1_000);
    expect(second.lock?.pid).toBe(200);

    const renewal = await locks.renew('publish', first.lock!.token, 1_000).catch((error: unknown) => error);
    expect(isCoordinationError(renewal) && renewal.code).toBe('not_held');
    expect(await locks.release('publish', first.lock!.token)).toBe(false);
    expect((await locks.get('publish'))?.pid).toBe(200);
  });

  it('keeps a holding that is renewed, and is not re-entrant', async () => {
    const { locks, advance } = await setup();
    const held = (await locks.tryAcquire('publish', me, 1_000)).lock!;
    for (let i = 0; i < 5; i++) {
      advance(800);
      expect((await locks.renew('publish', held.token, 1_000)).expires_at).toBe(new Date(T0 + 800 * (i + 1) + 1_000).toISOString());
      expect((await locks.tryAcquire('publish', other, 1_000)).lock).toBeNull();
    }
    const again = await locks.tryAcquire('publish', me, 1_000);
    expect(again).toMatchObject({ lock: null, heldBy: { pid: 100 } });
    expect(await locks.list()).toEqual([expect.objectContaining({ name: 'publish', pid: 100 })]);
    expect(await locks.release('publish', held.token)).toBe(true);
    expect(await locks.list()).toEqual([]);
  });

  it('a waiter gets the lock once it is released, and gives up after its wait', async () => {
    const store = await openSqliteStore(join(tmp.path, 'state.db'));
    tmp.onCleanup(() => store.close());
    await store.migrate();
    const probe = { isAlive: async () => true, markedPids: async () => [] };
    const locks = new LockService({ store, probe, sameHost: false, node: 'n' });
    const held = (await locks.tryAcquire('batch', me, 60_000)).lock!;
    const gaveUp = await locks.acquire('batch', other, { ttlMs: 60_000, waitMs: 300 });
    expect(gaveUp).toMatchObject({ lock: null, heldBy: { pid: 100 } });

    const waiting = locks.acquire('batch', other, { ttlMs: 60_000, waitMs: 10_000 });
    await locks.release('batch', held.token);
    expect((await waiting).lock?.pid).toBe(200);
  });

  it('on one host, a holder whose process is gone is reclaimed at once', async () => {
    const store = await openSqliteStore(join(tmp.path, 'state.db'));
    tmp.onCleanup(() => store.close());
    await store.migrate();
    const dead = new Set<number>();
    const probe = { isAlive: async (pid: number) => !dead.has(pid), markedPids: async () => [] };
    const locks = new LockService({ store, probe, sameHost: true, node: 'n' });
    await locks.tryAcquire('batch', me, 600_000);
    expect((await locks.tryAcquire('batch', other, 600_000)).lock).toBeNull();
    dead.add(100);
    expect(await locks.get('batch')).toBeNull();
    expect((await locks.tryAcquire('batch', other, 600_000)).lock?.pid).toBe(200);
  });

  it('refuses a ttl under 1s and a bad name, naming the fix', async () => {
    const { locks } = await setup();
    await expect(locks.acquire('x', me, { ttlMs: 10, waitMs: 0 })).rejects.toThrow('ttl must be at least 1s');
    await expect(locks.acquire('a b', me, { ttlMs: 1_000, waitMs: 0 })).rejects.toThrow('lock name "a b" is not valid');
    await expect(locks.renew('x', 'token', 10)).rejects.toThrow('ttl must be at least 1s');
  });
});
