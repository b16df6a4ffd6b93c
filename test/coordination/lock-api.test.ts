/**
 * The lock API over real HTTP, as curl and the SDK use it: take, renew, release; a held lock is a 409 naming the
 * holder; renew and release need the token the lock was taken with.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { lockClient } from '../../src/sdk/lock.ts';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { api } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

describe('locks over HTTP', () => {
  it('takes, renews and releases with the token; a second taker gets 409 lock_held with the holder', async () => {
    const t = (current = await startTestDaemon('shutdown_grace: 1s\njobs: {}\n'));
    const taken = await api(t, 'POST', '/locks/publish', { body: { ttl: '30s' } });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ name: 'publish', run_id: null, pid: process.pid, token: expect.any(String) });

    const second = await api(t, 'POST', '/locks/publish', { body: { ttl: 30, wait: '300ms' } });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('lock_held');
    expect(second.body.held_by).toMatchObject({ name: 'publish', pid: process.pid });
    expect(second.body.held_by).not.toHaveProperty('token');

    const renewed = await api(t, 'POST', '/locks/publish/renew', { body: { token: taken.body.token, ttl: '2m' } });
    expect(Date.parse(renewed.body.expires_at) - Date.now()).toBeGreaterThan(60_000);
    expect((await api(t, 'POST', '/locks/publish/renew', { body: { token: 'wrong' } })).body.error.code).toBe('not_held');
    expect((await api(t, 'POST', '/locks/publish/release', { body: {} })).body.error.message).toContain('needs the token');
    expect((await api(t, 'GET', '/locks', { token: null })).body).toEqual([expect.objectContaining({ name: 'publish' })]);
    expect((await api(t, 'POST', '/locks/publish/release', { body: { token: taken.body.token } })).body).toEqual({ name: 'publish', released: true });
    expect((await api(t, 'GET', '/locks/publish')).status).toBe(404);

    expect((await api(t, 'POST', '/locks/publish', { body: { ttl: '1ms' } })).body.error.message).toContain('ttl must be at least 1s');
    expect((await api(t, 'POST', '/locks/publish', { body: { ttl: 'soon' } })).body.error.message).toContain('ttl must be a duration');
    expect((await api(t, 'POST', '/locks/publish', { token: null })).status).toBe(401);
  });

  it('the SDK lock: null while held, waits for a release, renews and releases', async () => {
    const t = (current = await startTestDaemon('shutdown_grace: 1s\njobs: {}\n'));
    const lock = lockClient(() => ({ url: t.url, token: t.daemon.apiToken(), runId: null }));
    const held = await lock('nightly', { ttl: '10s' });
    expect(held).not.toBeNull();
    expect(await lock('nightly')).toBeNull();
    const waiting = lock('nightly', { wait: '10s' });
    await held!.renew('20s');
    expect(Date.parse(held!.expiresAt!) - Date.now()).toBeGreaterThan(15_000);
    expect(await held!.release()).toBe(true);
    const next = await waiting;
    expect(next?.name).toBe('nightly');
    expect(await next!.release()).toBe(true);
    expect(await next!.release()).toBe(false);
  });
});
