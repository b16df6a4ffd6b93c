/**
 * Telegram Bot API: POST `<api_url>/bot<token>/sendMessage` with `{ chat_id, text, disable_web_page_preview }`.
 * No parse_mode, so the text is shown as written and nothing needs escaping. Telegram answers `{ ok: true, result }`;
 * an error is `{ ok: false, error_code, description, parameters? }` where 429 carries `parameters.retry_after`
 * (seconds) and a group upgraded to a supergroup carries `parameters.migrate_to_chat_id`.
 */
import type { ChannelConfig } from '../../config/types.ts';
import { fitText } from '../message.ts';
import { ChannelError, type Channel, type Notification } from '../types.ts';
import { excerpt, isRecord, parseJson, post, redactUrl, replyError, type FetchLike } from './http.ts';

export type TelegramConfig = Extract<ChannelConfig, { type: 'telegram' }>;

export const TELEGRAM_TEXT_MAX = 4096;

export function telegramChannel(name: string, config: TelegramConfig, fetch: FetchLike): Channel {
  return { name, type: 'telegram', send: (notification, signal) => send(config, fetch, notification, signal) };
}

export function telegramPayload(chatId: string, notification: Notification) {
  return { chat_id: chatId, text: fitText(notification.text, TELEGRAM_TEXT_MAX), disable_web_page_preview: true };
}

async function send(config: TelegramConfig, fetch: FetchLike, notification: Notification, signal: AbortSignal): Promise<void> {
  const url = `${config.apiUrl.replace(/\/+$/, '')}/bot${config.botToken}/sendMessage`;
  const headers = new Headers({ 'content-type': 'application/json' });
  const body = JSON.stringify(telegramPayload(config.chatId, notification));
  const request = { channel: 'telegram', url, headers, body, signal, fetch, secrets: [config.botToken] };
  const reply = await post(request);
  const answer = parseJson(reply.body);
  const ok = reply.status >= 200 && reply.status < 300;
  if (ok && isRecord(answer) && answer['ok'] === true) return;
  if (ok) {
    // Not Telegram's shape (a proxy's page?): not a delivery, and maybe not one next time either, so retry.
    const said = excerpt(reply.body, request.secrets);
    throw new ChannelError(`telegram ${redactUrl(url)} answered ${reply.status} without ok: true: ${said}`, { retryable: true });
  }
  const parameters = isRecord(answer) && isRecord(answer['parameters']) ? answer['parameters'] : {};
  const retryAfter = parameters['retry_after'];
  const description = isRecord(answer) && typeof answer['description'] === 'string' ? answer['description'] : reply.body;
  const migrated = parameters['migrate_to_chat_id'];
  const hint = typeof migrated === 'number' ? ` (the group is now a supergroup: set chat_id to "${migrated}")` : '';
  throw replyError(request, reply, {
    retryAfterMs: typeof retryAfter === 'number' ? retryAfter * 1000 : null,
    message: `${excerpt(description, request.secrets)}${hint}`,
  });
}
