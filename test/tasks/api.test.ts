/**
 * The task API against a real daemon over real HTTP on 127.0.0.1: enqueue with keys, claims under a lease with
 * fencing tokens, failures with backoff and the dead letter, 429 pauses that spend no retry, rate limits, long-poll
 * claims woken by the enqueue, run tokens acting only as their run, and bad input answered with what to fix.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { api } from './helpers.ts';

let t: TestDaemon;
let token: string;
beforeEach(async () => {
  t = await startTestDaemon(`
shutdown_grace: 500ms
queues:
  mail: { concurrency: 5, retries: 1, lease: 30s }
  limited: { concurrency: 5, rate: 2/1h }
  solo: { concurrency: 1 }
jobs:
  sleeper-a: { command: "sleep 30" }
  sleeper-b: { command: "sleep 30" }
`);
  token = t.daemon.apiToken();
});
afterEach(async () => {
  await t.cleanup();
});

const post = (path: string, body: unknown, as = token) => api(t.url, 'POST', path, { token: as, body });

describe('task API', () => {
  it('enqueues, answers a repeated key with the existing id, and lists', async () => {
    const first = await post('/queues/mail/tasks', { payload: { to: 'a@example.com' }, key: 'order-7', priority: 3 });
    expect(first).toMatchObject({ status: 201, body: { id: expect.any(String) } });
    const again = await post('/queues/mail/tasks', { payload: { to: 'other' }, key: 'order-7' });
    expect(again).toEqual({ status: 200, body: { id: first.body.id, duplicate: true } });
    const list = await api<Array<Record<string, unknown>>>(t.url, 'GET', '/queues/mail/tasks');
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ id: first.body.id, payload: { to: 'a@example.com' }, priority: 3, key: 'order-7', state: 'queued' });
    expect(list.body[0]).not.toHaveProperty('lease_token');
  });

  it('claims under a lease; a step with a stale token is refused, the right one is recorded', async () => {
    const { body: queued } = await post('/queues/mail/tasks', { payload: 1 });
    const claim = await post('/queues/mail/claim', { lease: '10s' });
    expect(claim.body).toMatchObject({ id: queued.id, queue: 'mail', payload: 1, attempt: 1, state: 'running', token: expect.any(String) });
    const stale = await post(`/tasks/${queued.id}/complete`, { token: 'not-the-token' });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'lease_lost' } } });
    const done = await post(`/tasks/${queued.id}/complete`, { result: { sent: true }, token: claim.body.token });
    expect(done).toMatchObject({ status: 200, body: { state: 'done', result: { sent: true } } });
    expect(await post('/queues/mail/claim', {})).toEqual({ status: 200, body: null });
  });

  it('complete with next claims the next task in the same step, with its token; a refused step claims nothing', async () => {
    const { body: a } = await post('/queues/mail/tasks', { payload: 'a', priority: 1 });
    const { body: b } = await post('/queues/mail/tasks', { payload: 'b' });
    const claim = await post('/queues/mail/claim', {});
    expect(claim.body).toMatchObject({ id: a.id });

    // An undeclared queue, a malformed next or a stale token: refused before anything is recorded.
    expect(await post(`/tasks/${a.id}/complete`, { token: claim.body.token, next: { queue: 'nope' } })).toMatchObject({ status: 404, body: { error: { code: 'unknown_queue' } } });
    const malformed = await post(`/tasks/${a.id}/complete`, { token: claim.body.token, next: 'mail' });
    expect(malformed).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^next must name the queue to claim the next task from, like \{"queue"/) } } });
    expect((await post(`/tasks/${a.id}/complete`, { token: claim.body.token, next: { queue: 'mail', lease: 'soon' } })).body).toMatchObject({ error: { message: expect.stringMatching(/^next\.lease must be a duration/) } });
    expect(await post(`/tasks/${a.id}/complete`, { token: 'stale', next: { queue: 'mail' } })).toMatchObject({ status: 409, body: { error: { code: 'lease_lost' } } });
    expect(await t.daemon.store.getTask(String(b.id))).toMatchObject({ state: 'queued', attempt: 0 });

    const before = Date.now();
    const done = await post(`/tasks/${a.id}/complete`, { result: 1, token: claim.body.token, next: { queue: 'mail', lease: '10s' } });
    expect(done).toMatchObject({ status: 200, body: { id: a.id, state: 'done', result: 1, next: { id: b.id, state: 'running', attempt: 1, token: expect.any(String) } } });
    const next = done.body.next as { token: string; lease_expires_at: string };
    expect(Date.parse(next.lease_expires_at) - before).toBeGreaterThanOrEqual(10_000);
    expect(Date.parse(next.lease_expires_at) - before).toBeLessThan(20_000);
    // The claimed task's token fences its own steps; the queue is empty after it.
    const last = await post(`/tasks/${b.id}/complete`, { token: next.token, next: { queue: 'mail' } });
    expect(last).toMatchObject({ status: 200, body: { id: b.id, state: 'done', next: null } });
  });

  it('a completion does not take the next task ahead of a consumer already waiting for it', async () => {
    const { body: first } = await post('/queues/solo/tasks', { payload: 1 });
    const { body: second } = await post('/queues/solo/tasks', { payload: 2 });
    const claim = await post('/queues/solo/claim', {});
    expect(claim.body).toMatchObject({ id: first.id });
    // Concurrency 1: this claim waits for the slot the first task holds.
    const waiting = post('/queues/solo/claim', { wait: '20s' });
    await waitFor(() => t.daemon.tasks.service.gate('solo').waiting > 0, 5_000, 'the claim to wait');
    const done = await post(`/tasks/${first.id}/complete`, { token: claim.body.token, next: { queue: 'solo' } });
    expect(done.body).toMatchObject({ state: 'done', next: null });
    expect((await waiting).body).toMatchObject({ id: second.id, state: 'running' });
  });

  it('retries a failure after a backoff, then dead-letters it; requeue brings it back', async () => {
    const { body: queued } = await post('/queues/mail/tasks', { payload: 'x' });
    await post('/queues/mail/claim', {});
    const failed = await post(`/tasks/${queued.id}/fail`, { error: 'SMTP 554' });
    expect(failed.body).toMatchObject({ state: 'queued', attempt: 1, last_error: 'SMTP 554' });
    // The backoff (full jitter over 10s) may be short: claim again once it is due.
    const second = await waitFor(async () => (await post('/queues/mail/claim', {})).body, 15_000, 'the retry to be due');
    expect(second).toMatchObject({ id: queued.id, attempt: 2 });
    const dead = await post(`/tasks/${queued.id}/fail`, { error: 'SMTP 554 again' });
    expect(dead.body).toMatchObject({ state: 'dead', attempt: 2, last_error: 'SMTP 554 again' });
    const letter = await api<unknown[]>(t.url, 'GET', '/queues/mail/tasks?state=dead');
    expect(letter.body).toMatchObject([{ id: queued.id }]);
    const requeued = await post(`/tasks/${queued.id}/requeue`, {});
    expect(requeued.body).toMatchObject({ state: 'queued', attempt: 0 });
    expect((await post(`/tasks/${queued.id}/requeue`, {})).body).toMatchObject({ error: { code: 'not_requeueable' } });
  });

  it('a Retry-After pauses the whole queue and spends no attempt', async () => {
    const { body: a } = await post('/queues/mail/tasks', { payload: 'a' });
    await post('/queues/mail/tasks', { payload: 'b' });
    await post('/queues/mail/claim', {});
    const failed = await post(`/tasks/${a.id}/fail`, { error: 'HTTP 429', retry_after: '1h' });
    expect(failed.body).toMatchObject({ state: 'queued', attempt: 0, last_error: 'HTTP 429' });
    // The other task is due, but the queue is paused.
    expect((await post('/queues/mail/claim', {})).body).toBeNull();
    const queues = await api<Array<Record<string, unknown>>>(t.url, 'GET', '/queues');
    const mail = queues.body.find((q) => q.queue === 'mail')!;
    expect(Date.parse(String(mail.paused_until)) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(mail.pause_reason).toMatch(/Retry-After/);
  });

  it('holds a queue to its rate', async () => {
    for (let i = 0; i < 3; i++) await post('/queues/limited/tasks', { payload: i });
    expect((await post('/queues/limited/claim', {})).body).not.toBeNull();
    expect((await post('/queues/limited/claim', {})).body).not.toBeNull();
    expect((await post('/queues/limited/claim', {})).body).toBeNull();
  });

  it('a waiting claim is woken by the enqueue, and gives up with null after its wait', async () => {
    const service = t.daemon.tasks.service;
    const waiting = post('/queues/mail/claim', { wait: '20s' });
    await waitFor(() => service.gate('mail').waiting > 0, 5_000, 'the claim to wait');
    const enqueuedAt = performance.now();
    const { body: queued } = await post('/queues/mail/tasks', { payload: 'now' });
    const claimed = await waiting;
    expect(claimed.body).toMatchObject({ id: queued.id });
    expect(performance.now() - enqueuedAt).toBeLessThan(1_000);

    const started = performance.now();
    expect((await post('/queues/mail/claim', { wait: '300ms' })).body).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("a run acts only as itself: its claims are its own, and go back when it ends", async () => {
    const runA = await t.daemon.trigger('sleeper-a', 'api');
    const runB = await t.daemon.trigger('sleeper-b', 'api');
    const [tokenA, tokenB] = [t.daemon.runTokens.issue(runA.id), t.daemon.runTokens.issue(runB.id)];
    const { body: queued } = await post('/queues/mail/tasks', { payload: 'mine' }, tokenA);
    const claim = await post('/queues/mail/claim', {}, tokenA);
    expect(claim.body).toMatchObject({ id: queued.id, run_id: runA.id, claimed_by: `run:${runA.id}` });
    const stolen = await post(`/tasks/${queued.id}/complete`, { token: claim.body.token }, tokenB);
    expect(stolen).toMatchObject({ status: 409, body: { error: { code: 'lease_lost' } } });
    expect(String((stolen.body.error as { message: string }).message)).toMatch(`not run ${runB.id}`);

    t.daemon.cancelRun(runA.id);
    const back = await waitFor(async () => {
      const task = await t.daemon.store.getTask(String(queued.id));
      return task?.state === 'queued' ? task : null;
    }, 10_000, 'the task to go back when its run ended');
    expect(back.last_error).toMatch(`run ${runA.id} ended`);
    // An ended run's token claims nothing.
    expect(await post('/queues/mail/claim', {}, tokenA)).toMatchObject({ status: 409, body: { error: { code: 'not_running' } } });
  });

  it('answers bad input with the field and the fix', async () => {
    const unknown = await post('/queues/nope/tasks', { payload: 1 });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'unknown_queue', message: "no queue named 'nope' (declared queues: mail, limited, solo)" } } });
    expect((await post('/queues/mail/tasks', { priority: 1 })).body).toMatchObject({ error: { code: 'bad_request', message: expect.stringMatching(/^payload is required/) } });
    expect((await post('/queues/mail/tasks', { payload: 1, priority: 'high' })).body).toMatchObject({ error: { message: expect.stringMatching(/^priority must be a whole number/) } });
    expect((await post('/queues/mail/tasks', { payload: 1, run_at: 'tomorrow' })).body).toMatchObject({ error: { message: expect.stringMatching(/^run_at must be an ISO-8601 time/) } });
    expect((await post('/queues/mail/claim', { lease: 'forever' })).status).toBe(400);
    expect((await post('/queues/mail/claim', { wait: '5m' })).body).toMatchObject({ error: { message: expect.stringMatching(/^wait is at most 60s/) } });
    expect((await post('/queues/mail/tasks', '{not json')).body).toMatchObject({ error: { message: expect.stringMatching(/^the body must be JSON/) } });
    expect((await api(t.url, 'POST', '/queues/mail/tasks', { body: { payload: 1 } })).status).toBe(401);
  });
});
