/**
 * ntfy: POST the message as the body to the topic URL, with Title, Priority and Tags as headers, and
 * `Authorization: Bearer <token>` for a protected topic. The body stays within 4,096 bytes: above that ntfy turns
 * the message into an attachment (or refuses it where attachments are off).
 *
 * HTTP header values must be ASCII (fetch refuses anything above U+00FF outright): a title with other characters is
 * sent as an RFC 2047 encoded word (`=?UTF-8?B?…?=`), which ntfy decodes.
 */
import type { ChannelConfig } from '../../config/types.ts';
import { clipLine, fitText, renderTitle } from '../message.ts';
import type { Channel, Notification } from '../types.ts';
import { expectSuccess, post, urlSecrets, type FetchLike } from './http.ts';

export type NtfyConfig = Extract<ChannelConfig, { type: 'ntfy' }>;

export const NTFY_MESSAGE_MAX_BYTES = 4096;
/** Titles are one line on a phone; long ones only cost header bytes. */
const TITLE_MAX = 200;

export function ntfyChannel(name: string, config: NtfyConfig, fetch: FetchLike): Channel {
  return { name, type: 'ntfy', send: (notification, signal) => send(config, fetch, notification, signal) };
}

export function ntfyHeaders(notification: Notification, token: string | null): Headers {
  const { event, project, incident } = notification;
  const resolved = event === 'incident.resolved';
  const headers = new Headers({
    'content-type': 'text/plain; charset=utf-8',
    title: headerValue(clipLine(renderTitle(event, project, incident), TITLE_MAX)),
    // A recovery is good news: no need to buzz a phone at 3 a.m. for it.
    priority: resolved ? 'default' : 'high',
    // Emoji short codes become the icon; the kind is a plain tag to filter on.
    tags: [resolved ? 'white_check_mark' : 'rotating_light', asciiTag(incident.kind)].join(','),
  });
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return headers;
}

async function send(config: NtfyConfig, fetch: FetchLike, notification: Notification, signal: AbortSignal): Promise<void> {
  const body = Buffer.from(fitText(notification.text, NTFY_MESSAGE_MAX_BYTES, 'utf8'), 'utf8');
  const secrets = [...urlSecrets(config.url), ...(config.token === null ? [] : [config.token])];
  const request = { channel: 'ntfy', url: config.url, headers: ntfyHeaders(notification, config.token), body, signal, fetch, secrets };
  expectSuccess(request, await post(request));
}

/** Printable ASCII as is; anything else as one RFC 2047 encoded word. */
export function headerValue(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function asciiTag(text: string): string {
  return text.replace(/[^\x21-\x7e]|,/g, '_');
}
