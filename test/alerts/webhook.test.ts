/**
 * The webhook channel against a real receiver: the exact contract body, the HMAC signature a receiver can verify
 * with node:crypto, and how every HTTP channel classifies failures (webhook stands in for the shared code path).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannel } from '../../src/alerts/channels/index.ts';
import { parseRetryAfter } from '../../src/alerts/channels/http.ts';
import type { ChannelConfig } from '../../src/config/types.ts';
import { freePort } from '../helpers/cli.ts';
import { resolveYaml } from '../config/helpers.ts';
import { channelError, closeReceivers, json, notify, signal, startReceiver } from './helpers.ts';

afterEach(closeReceivers);

const webhook = (url: string, over: Partial<Extract<ChannelConfig, { type: 'webhook' }>> = {}): ChannelConfig => ({
  type: 'webhook',
  url,
  headers: {},
  secret: null,
  ...over,
});

describe('webhook channel', () => {
  it('POSTs exactly { event, project, incident, text } as JSON with the configured headers', async () => {
    const receiver = await startReceiver();
    const channel = createChannel('ops', webhook(`${receiver.origin}/hook?x=1`, { headers: { 'X-Team': 'night' } }));
    const notification = notify();
    await channel.send({ ...notification, extra: 'not in the contract' } as typeof notification, signal());

    const [request] = receiver.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/hook?x=1' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-team']).toBe('night');
    expect(request!.headers['user-agent']).toMatch(/^nightshift\//);
    expect(request!.headers['x-nightshift-signature']).toBeUndefined();
    const body = json(request);
    expect(Object.keys(body)).toEqual(['event', 'project', 'incident', 'text']);
    expect(body).toEqual(notification);
    expect(channel).toMatchObject({ name: 'ops', type: 'webhook' });
  });

  it('signs the exact body bytes with HMAC-SHA256 when a secret is set', async () => {
    const receiver = await startReceiver({ status: 204 });
    const secret = 's3cret-shared-with-the-receiver';
    // A configured content-type or signature cannot override ours.
    const headers = { 'Content-Type': 'text/plain', 'X-Nightshift-Signature': 'sha256=forged' };
    const channel = createChannel('signed', webhook(`${receiver.origin}/hook`, { secret, headers }));
    const before = Math.floor(Date.now() / 1000);
    await channel.send(notify('incident.resolved'), signal());

    const request = receiver.requests[0]!;
    expect(request.headers['content-type']).toBe('application/json');
    // What a receiver does (docs/alerts-channels.md): HMAC the raw body, compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`);
    const given = Buffer.from(String(request.headers['x-nightshift-signature']));
    expect(given.length).toBe(expected.length);
    expect(timingSafeEqual(given, expected)).toBe(true);
    const timestamp = Number(request.headers['x-nightshift-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    // Any change to the body breaks it.
    const tampered = createHmac('sha256', secret).update(Buffer.concat([request.body, Buffer.from(' ')])).digest('hex');
    expect(given.toString()).not.toBe(`sha256=${tampered}`);
  });
});

describe('webhook secret in the config', () => {
  it('is read from the file, null by default, and an empty ${VAR:-} means none', () => {
    const config = resolveYaml(
      'channels:\n  a: { type: webhook, url: https://e.com/h, secret: "${S}" }\n  b: { type: webhook, url: https://e.com/h }\n  c: { type: webhook, url: https://e.com/h, secret: "${NONE:-}" }\n',
      { S: 'from-env' },
    );
    expect(config.channels['a']).toMatchObject({ secret: 'from-env' });
    expect(config.channels['b']).toMatchObject({ secret: null });
    expect(config.channels['c']).toMatchObject({ secret: null });
  });
});

describe('HTTP failure classification (shared by every HTTP channel)', () => {
  const secretPath = '/hooks/T000/B000/SUPERSECRETTOKEN';

  it('a 400 is not retryable; the message has the status and an excerpt but neither the path nor a secret', async () => {
    const receiver = await startReceiver({ status: 400, body: 'invalid_payload for SUPERSECRETTOKEN' });
    const error = await channelError(createChannel('x', webhook(`${receiver.origin}${secretPath}`)).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.retryAfterMs).toBeNull();
    expect(error.message).toBe(`webhook ${receiver.origin} answered 400: invalid_payload for [redacted]`);
  });

  it('a 429 is retryable after Retry-After seconds', async () => {
    const receiver = await startReceiver({ status: 429, body: 'slow down', headers: { 'Retry-After': '7' } });
    const error = await channelError(createChannel('x', webhook(`${receiver.origin}/h`)).send(notify(), signal()));
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 7000 });
  });

  it('a 429 with an HTTP-date Retry-After waits until then', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const receiver = await startReceiver({ status: 429, headers: { 'Retry-After': at } });
    const error = await channelError(createChannel('x', webhook(`${receiver.origin}/h`)).send(notify(), signal()));
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(55_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('parses Retry-After forms and ignores garbage', () => {
    const now = Date.parse('2025-03-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Sat, 01 Mar 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 28 Feb 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('a 500 and a 503 are retryable', async () => {
    const receiver = await startReceiver({ status: 500, body: '<html>oops</html>' });
    const channel = createChannel('x', webhook(`${receiver.origin}/h`));
    expect(await channelError(channel.send(notify(), signal()))).toMatchObject({ retryable: true, retryAfterMs: null });
    receiver.reply = { status: 503, headers: { 'Retry-After': '3' } };
    expect(await channelError(channel.send(notify(), signal()))).toMatchObject({ retryable: true, retryAfterMs: 3000 });
  });

  it('a redirect is not followed (it would turn the POST into a GET) and not retried', async () => {
    const receiver = await startReceiver({ status: 301, headers: { Location: '/elsewhere' } });
    const error = await channelError(createChannel('x', webhook(`${receiver.origin}/h`)).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/answered 301.*redirect/);
    expect(receiver.requests).toHaveLength(1);
  });

  it('a refused connection is retryable and names the host only', async () => {
    const port = await freePort();
    const error = await channelError(createChannel('x', webhook(`http://127.0.0.1:${port}${secretPath}`)).send(notify(), signal()));
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`webhook http://127.0.0.1:${port}: no reply (ECONNREFUSED)`);
  });

  it('gives up when the signal aborts, as retryable', async () => {
    const receiver = await startReceiver();
    const controller = new AbortController();
    controller.abort(new Error('deadline'));
    const error = await channelError(createChannel('x', webhook(`${receiver.origin}/h`)).send(notify(), controller.signal));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/deadline passed/);
  });
});
