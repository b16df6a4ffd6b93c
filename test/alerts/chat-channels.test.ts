/**
 * Slack, Discord and Telegram against real local receivers that answer as the services do: the payload each service
 * requires (fields, limits, escaping) and how their own error replies are classified.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createChannel } from '../../src/alerts/channels/index.ts';
import { DISCORD_CONTENT_MAX } from '../../src/alerts/channels/discord.ts';
import { SLACK_SECTION_MAX } from '../../src/alerts/channels/slack.ts';
import { TELEGRAM_TEXT_MAX } from '../../src/alerts/channels/telegram.ts';
import { channelError, closeReceivers, hasLoneSurrogate, hugeIncident, json, notify, sampleIncident, signal, startReceiver } from './helpers.ts';

afterEach(closeReceivers);

const huge = () => notify('incident.opened', hugeIncident());

describe('slack channel', () => {
  const path = '/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX';

  it('POSTs { text, blocks } with the message as one plain_text section', async () => {
    const receiver = await startReceiver({ status: 200, body: 'ok' });
    const notification = notify();
    await createChannel('slack', { type: 'slack', url: `${receiver.origin}${path}` }).send(notification, signal());
    const request = receiver.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: path });
    expect(request.headers['content-type']).toBe('application/json');
    const body = json(request);
    expect(body['text']).toBe('[seo-scanner] OPEN crash_loop: chat — chat exited 5 times within 30s of starting; restarts are backing off');
    expect(body['blocks']).toEqual([{ type: 'section', text: { type: 'plain_text', text: notification.text, emoji: false } }]);
  });

  it('keeps the section within 3,000 characters and escapes & < > in the mrkdwn text', async () => {
    const receiver = await startReceiver();
    const notification = notify('incident.opened', sampleIncident({ summary: '<!channel> R&D <b>'.repeat(300) }));
    await createChannel('slack', { type: 'slack', url: `${receiver.origin}${path}` }).send(notification, signal());
    const body = json(receiver.requests[0]) as { text: string; blocks: Array<{ text: { text: string } }> };
    expect(body.text.length).toBeLessThanOrEqual(3000);
    expect(body.text).not.toMatch(/[<>]/);
    expect(body.text).toContain('&lt;!channel&gt; R&amp;D');
    expect(body.text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    await createChannel('slack', { type: 'slack', url: `${receiver.origin}${path}` }).send(huge(), signal());
    const section = (json(receiver.requests[1]) as { blocks: Array<{ text: { text: string } }> }).blocks[0]!.text.text;
    expect(section.length).toBeLessThanOrEqual(SLACK_SECTION_MAX);
    expect(hasLoneSurrogate(section)).toBe(false);
  });

  it.each([
    [400, 'invalid_payload', false],
    [403, 'action_prohibited', false],
    [404, 'no_service', false],
    [500, 'rollup_error', true],
  ])('classifies %i %s (retryable: %s) without leaking the webhook path', async (status, body, retryable) => {
    const receiver = await startReceiver({ status, body });
    const error = await channelError(createChannel('slack', { type: 'slack', url: `${receiver.origin}${path}` }).send(notify(), signal()));
    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(`slack ${receiver.origin} answered ${status}: ${body}`);
  });

  it('honours Retry-After on a 429', async () => {
    const receiver = await startReceiver({ status: 429, body: 'rate_limited', headers: { 'Retry-After': '30' } });
    const error = await channelError(createChannel('slack', { type: 'slack', url: `${receiver.origin}${path}` }).send(notify(), signal()));
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 30_000 });
  });
});

describe('discord channel', () => {
  const path = '/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789';

  it('POSTs { content, allowed_mentions } within 2,000 characters; 204 is success', async () => {
    const receiver = await startReceiver({ status: 204 });
    await createChannel('d', { type: 'discord', url: `${receiver.origin}${path}` }).send(huge(), signal());
    const request = receiver.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: path });
    expect(request.headers['content-type']).toBe('application/json');
    const body = json(request) as { content: string; allowed_mentions: unknown };
    expect(Object.keys(body).sort()).toEqual(['allowed_mentions', 'content']);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content.length).toBeLessThanOrEqual(DISCORD_CONTENT_MAX);
    expect(hasLoneSurrogate(body.content)).toBe(false);
    expect(body.content).toMatch(/^\[seo-scanner\] OPEN crash\\_loop: chat/);
    expect(body.content).toContain('\\_\\_init\\_\\_');
  });

  it('escapes markdown so stderr shows as written', async () => {
    const receiver = await startReceiver({ status: 204 });
    const incident = sampleIncident({ detail: { fix: 'x', stderr_tail: ['# not a heading', '**kwargs in `f`', '> quote'] } });
    await createChannel('d', { type: 'discord', url: `${receiver.origin}${path}` }).send(notify('incident.opened', incident), signal());
    const { content } = json(receiver.requests[0]) as { content: string };
    expect(content).toContain('  \\# not a heading\n  \\*\\*kwargs in \\`f\\`\n  \\> quote');
  });

  it('takes the 429 wait from the JSON retry_after, in seconds', async () => {
    const reply = JSON.stringify({ message: 'You are being rate limited.', retry_after: 1.5, global: false });
    const receiver = await startReceiver({ status: 429, body: reply, headers: { 'Retry-After': '2', 'content-type': 'application/json' } });
    const error = await channelError(createChannel('d', { type: 'discord', url: `${receiver.origin}${path}` }).send(notify(), signal()));
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 1500 });
  });

  it('a 404 (webhook deleted) is not retryable and the token stays out of the message', async () => {
    const receiver = await startReceiver({ status: 404, body: '{"message": "Unknown Webhook", "code": 10015}' });
    const error = await channelError(createChannel('d', { type: 'discord', url: `${receiver.origin}${path}` }).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Unknown Webhook');
    expect(error.message).not.toContain('abcdefghijklmnop');
  });
});

describe('telegram channel', () => {
  const token = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
  const telegram = (apiUrl: string) => createChannel('tg', { type: 'telegram', botToken: token, chatId: '-1001234567890', apiUrl });
  const ok = JSON.stringify({ ok: true, result: { message_id: 1 } });

  it('POSTs sendMessage with chat_id, plain text within 4,096 characters and no link previews', async () => {
    const receiver = await startReceiver({ status: 200, body: ok, headers: { 'content-type': 'application/json' } });
    await telegram(`${receiver.origin}/`).send(huge(), signal());
    const request = receiver.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: `/bot${token}/sendMessage` });
    expect(request.headers['content-type']).toBe('application/json');
    const body = json(request) as { chat_id: string; text: string; disable_web_page_preview: boolean };
    expect(Object.keys(body).sort()).toEqual(['chat_id', 'disable_web_page_preview', 'text']);
    expect(body.chat_id).toBe('-1001234567890');
    expect(body.disable_web_page_preview).toBe(true);
    expect(body.text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_MAX);
    expect(body.text.length).toBeGreaterThan(3000);
    expect(hasLoneSurrogate(body.text)).toBe(false);
  });

  it('retries a 429 after parameters.retry_after seconds', async () => {
    const reply = { ok: false, error_code: 429, description: 'Too Many Requests: retry after 13', parameters: { retry_after: 13 } };
    const receiver = await startReceiver({ status: 429, body: JSON.stringify(reply) });
    const error = await channelError(telegram(receiver.origin).send(notify(), signal()));
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 13_000 });
  });

  it('does not retry a 400 or a 401, and never shows the token', async () => {
    const receiver = await startReceiver({ status: 400, body: JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: chat not found' }) });
    const error = await channelError(telegram(receiver.origin).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`telegram ${receiver.origin} answered 400: Bad Request: chat not found`);
    receiver.reply = { status: 401, body: JSON.stringify({ ok: false, error_code: 401, description: `Unauthorized ${token}` }) };
    const unauthorized = await channelError(telegram(receiver.origin).send(notify(), signal()));
    expect(unauthorized.retryable).toBe(false);
    expect(unauthorized.message).not.toContain(token);
  });

  it('says which chat_id to use when the group became a supergroup', async () => {
    const reply = { ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: -1009876 } };
    const receiver = await startReceiver({ status: 400, body: JSON.stringify(reply) });
    const error = await channelError(telegram(receiver.origin).send(notify(), signal()));
    expect(error.message).toContain('set chat_id to "-1009876"');
  });

  it('a 5xx, or a 200 that is not { ok: true }, is retryable', async () => {
    const receiver = await startReceiver({ status: 502, body: '<html>Bad Gateway</html>' });
    expect(await channelError(telegram(receiver.origin).send(notify(), signal()))).toMatchObject({ retryable: true });
    receiver.reply = { status: 200, body: '<html>captive portal</html>' };
    expect(await channelError(telegram(receiver.origin).send(notify(), signal()))).toMatchObject({ retryable: true });
  });
});
