/**
 * Discord webhook: POST `{ content, allowed_mentions }`, content at most 2,000 characters. Discord answers 204;
 * 429 carries `retry_after` (seconds, fractional) in a JSON body and Retry-After as a header.
 *
 * `allowed_mentions: { parse: [] }` keeps an `@everyone` in a stderr line from pinging a server; the markdown
 * escaping keeps `__init__.py` and `**kwargs` from turning into underlines and bold.
 */
import type { ChannelConfig } from '../../config/types.ts';
import { fitEscaped } from '../message.ts';
import type { Channel, Notification } from '../types.ts';
import { expectSuccess, isRecord, parseJson, post, urlSecrets, type FetchLike } from './http.ts';

export type DiscordConfig = Extract<ChannelConfig, { type: 'discord' }>;

export const DISCORD_CONTENT_MAX = 2000;

export function discordChannel(name: string, config: DiscordConfig, fetch: FetchLike): Channel {
  return { name, type: 'discord', send: (notification, signal) => send(config, fetch, notification, signal) };
}

export function discordPayload(notification: Notification) {
  return { content: fitEscaped(notification.text, DISCORD_CONTENT_MAX, escapeMarkdown), allowed_mentions: { parse: [] } };
}

async function send(config: DiscordConfig, fetch: FetchLike, notification: Notification, signal: AbortSignal): Promise<void> {
  const headers = new Headers({ 'content-type': 'application/json' });
  const body = JSON.stringify(discordPayload(notification));
  const request = { channel: 'discord', url: config.url, headers, body, signal, fetch, secrets: urlSecrets(config.url) };
  const reply = await post(request);
  // The body's retry_after is more precise than the header's whole seconds.
  const parsed = reply.status === 429 ? parseJson(reply.body) : undefined;
  const seconds = isRecord(parsed) && typeof parsed['retry_after'] === 'number' ? parsed['retry_after'] : null;
  expectSuccess(request, reply, { retryAfterMs: seconds === null ? null : Math.ceil(seconds * 1000) });
}

/**
 * Backslash-escapes what Discord would read as markdown: inline marks anywhere, block marks (`#` headings, `>`
 * quotes, `-` lists) only at the start of a line, where they mean something.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\*_~`|<]/g, (mark) => `\\${mark}`)
    .replace(/^(\s*)([#>-])/gm, (_match, indent: string, mark: string) => `${indent}\\${mark}`);
}
