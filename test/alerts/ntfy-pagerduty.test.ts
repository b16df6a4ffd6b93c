/**
 * ntfy and PagerDuty against real local receivers: ntfy's body and headers (ASCII-safe title, priority, tags,
 * bearer token, 4,096-byte body); PagerDuty's Events API v2 trigger / resolve with the incident id as dedup_key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createChannel } from '../../src/alerts/channels/index.ts';
import { NTFY_MESSAGE_MAX_BYTES } from '../../src/alerts/channels/ntfy.ts';
import { PAGERDUTY_SUMMARY_MAX } from '../../src/alerts/channels/pagerduty.ts';
import type { ChannelConfig } from '../../src/config/types.ts';
import { channelError, closeReceivers, hugeIncident, json, notify, PROJECT, sampleIncident, signal, startReceiver } from './helpers.ts';
import { renderText } from '../../src/alerts/message.ts';

afterEach(closeReceivers);

describe('ntfy channel', () => {
  const ntfy = (url: string, token: string | null = null) => createChannel('phone', { type: 'ntfy', url, token });

  it('POSTs the message as the body with Title, Priority high, Tags and the bearer token', async () => {
    const receiver = await startReceiver({ status: 200, body: '{"id":"x","event":"message"}' });
    const notification = notify();
    await ntfy(`${receiver.origin}/my-ops-topic`, 'tk_secret').send(notification, signal());
    const request = receiver.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: '/my-ops-topic' });
    expect(request.body.toString('utf8')).toBe(notification.text);
    expect(request.headers).toMatchObject({
      title: '[seo-scanner] OPEN crash_loop: chat',
      priority: 'high',
      tags: 'rotating_light,crash_loop',
      authorization: 'Bearer tk_secret',
      'content-type': 'text/plain; charset=utf-8',
    });
  });

  it('sends a recovery at default priority, without a token when none is set', async () => {
    const receiver = await startReceiver();
    await ntfy(`${receiver.origin}/t`).send(notify('incident.resolved'), signal());
    expect(receiver.requests[0]!.headers).toMatchObject({ priority: 'default', tags: 'white_check_mark,crash_loop' });
    expect(receiver.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('encodes a non-ASCII title (RFC 2047) and keeps the body within 4,096 bytes', async () => {
    const receiver = await startReceiver();
    const incident = { ...hugeIncident(), subject: 'rédacteur 📝' };
    await ntfy(`${receiver.origin}/t`).send({ event: 'incident.opened', project: 'café', incident, text: renderText('incident.opened', 'café', incident) }, signal());
    const request = receiver.requests[0]!;
    const title = String(request.headers.title);
    expect(title).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(title.slice(10, -2), 'base64').toString('utf8')).toBe('[café] OPEN crash_loop: rédacteur 📝');
    expect(request.body.length).toBeLessThanOrEqual(NTFY_MESSAGE_MAX_BYTES);
    expect(request.body.toString('utf8')).not.toContain('\uFFFD');
    expect(request.body.toString('utf8')).toMatch(/Fix: Restart the worker\.$/);
  });

  it('classifies ntfy errors: 403 not retryable, 429 waits, 507 retryable; the token is never shown', async () => {
    const receiver = await startReceiver({ status: 403, body: '{"code":40301,"http":403,"error":"forbidden tk_secret"}' });
    const forbidden = await channelError(ntfy(`${receiver.origin}/t`, 'tk_secret').send(notify(), signal()));
    expect(forbidden.retryable).toBe(false);
    expect(forbidden.message).not.toContain('tk_secret');
    receiver.reply = { status: 429, body: '{"code":42901}', headers: { 'Retry-After': '10' } };
    expect(await channelError(ntfy(`${receiver.origin}/t`).send(notify(), signal()))).toMatchObject({ retryable: true, retryAfterMs: 10_000 });
    receiver.reply = { status: 507, body: '{"code":50701}' };
    expect(await channelError(ntfy(`${receiver.origin}/t`).send(notify(), signal()))).toMatchObject({ retryable: true });
  });
});

describe('pagerduty channel', () => {
  const routingKey = 'R0UT1NGKEY0123456789abcdefABCDEF';
  const pagerduty = (origin: string): ChannelConfig => ({ type: 'pagerduty', routingKey, url: `${origin}/v2/enqueue` });
  const accepted = (dedupKey: string) => ({ status: 202, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedupKey }) });

  it('triggers with the incident id as dedup_key and the fields Events API v2 requires', async () => {
    const incident = sampleIncident();
    const receiver = await startReceiver(accepted(incident.id));
    await createChannel('pd', pagerduty(receiver.origin)).send(notify('incident.opened', incident), signal());
    const request = receiver.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: '/v2/enqueue' });
    expect(request.headers['content-type']).toBe('application/json');
    const body = json(request) as Record<string, any>;
    expect(body).toMatchObject({ routing_key: routingKey, event_action: 'trigger', dedup_key: incident.id });
    expect(body['payload']).toMatchObject({
      summary: '[seo-scanner] OPEN crash_loop: chat — chat exited 5 times within 30s of starting; restarts are backing off',
      severity: 'critical',
      timestamp: incident.opened_at,
      component: 'chat',
      group: PROJECT,
      class: 'crash_loop',
      custom_details: { incident_id: incident.id, fix: incident.detail.fix, exit_codes: [1, 1, 1, 1, 1] },
    });
    expect(typeof body['payload'].source).toBe('string');
    expect(body['payload'].source.length).toBeGreaterThan(0);
  });

  it('resolves with exactly { routing_key, event_action, dedup_key }; a renotify re-triggers the same key', async () => {
    const incident = sampleIncident({ state: 'resolved', resolved_at: '2025-03-01T04:00:00.000Z' });
    const receiver = await startReceiver(accepted(incident.id));
    const channel = createChannel('pd', pagerduty(receiver.origin));
    await channel.send(notify('incident.resolved', incident), signal());
    expect(json(receiver.requests[0])).toEqual({ routing_key: routingKey, event_action: 'resolve', dedup_key: incident.id });
    await channel.send(notify('incident.renotify', sampleIncident()), signal());
    expect(json(receiver.requests[1])).toMatchObject({ event_action: 'trigger', dedup_key: incident.id });
  });

  it('keeps the summary within 1,024 characters and on one line', async () => {
    const receiver = await startReceiver(accepted('x'));
    await createChannel('pd', pagerduty(receiver.origin)).send(notify('incident.opened', hugeIncident()), signal());
    const { summary } = (json(receiver.requests[0]) as { payload: { summary: string } }).payload;
    expect(summary.length).toBeLessThanOrEqual(PAGERDUTY_SUMMARY_MAX);
    expect(summary).not.toContain('\n');
    expect(receiver.requests[0]!.body.length).toBeLessThan(512 * 1024);
  });

  it('does not retry a 400 (invalid event) and never shows the routing key', async () => {
    const reply = { status: 'invalid event', message: 'Event object is invalid', errors: [`'routing_key' ${routingKey} invalid`] };
    const receiver = await startReceiver({ status: 400, body: JSON.stringify(reply) });
    const error = await channelError(createChannel('pd', pagerduty(receiver.origin)).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('answered 400');
    expect(error.message).not.toContain(routingKey);
  });

  it('retries a 429 and a 5xx', async () => {
    const receiver = await startReceiver({ status: 429, body: '{"status":"throttle event"}' });
    expect(await channelError(createChannel('pd', pagerduty(receiver.origin)).send(notify(), signal()))).toMatchObject({ retryable: true });
    receiver.reply = { status: 500, body: '' };
    expect(await channelError(createChannel('pd', pagerduty(receiver.origin)).send(notify(), signal()))).toMatchObject({ retryable: true });
  });
});
