/**
 * Slack incoming webhook: POST `{ text, blocks }`. `text` is the notification line Slack shows in pushes and
 * previews; the message itself is one section block of plain_text, which Slack renders as written (no mrkdwn, so
 * no `<!channel>` in a stderr line can ping anyone). Slack answers 200 `ok`; 400 invalid_payload, 403
 * action_prohibited and 404 no_service / channel_not_found will not get better on a retry; 429 carries Retry-After.
 */
import type { ChannelConfig } from '../../config/types.ts';
import { clipLine, fitEscaped, fitText, renderHeadline } from '../message.ts';
import type { Channel, Notification } from '../types.ts';
import { expectSuccess, post, urlSecrets, type FetchLike } from './http.ts';

export type SlackConfig = Extract<ChannelConfig, { type: 'slack' }>;

/** A section block's text may hold at most 3,000 characters. */
export const SLACK_SECTION_MAX = 3000;
/** Top-level text is cut by Slack at 40,000; a push line needs far less. */
export const SLACK_TEXT_MAX = 3000;

export function slackChannel(name: string, config: SlackConfig, fetch: FetchLike): Channel {
  return { name, type: 'slack', send: (notification, signal) => send(config, fetch, notification, signal) };
}

export function slackPayload(notification: Notification) {
  const headline = renderHeadline(notification.event, notification.project, notification.incident);
  return {
    // Top-level text is parsed as mrkdwn: Slack requires & < > escaped there.
    text: fitEscaped(headline, SLACK_TEXT_MAX, escapeMrkdwn, clipLine),
    blocks: [
      { type: 'section', text: { type: 'plain_text', text: fitText(notification.text, SLACK_SECTION_MAX), emoji: false } },
    ],
    unfurl_links: false,
    unfurl_media: false,
  };
}

async function send(config: SlackConfig, fetch: FetchLike, notification: Notification, signal: AbortSignal): Promise<void> {
  const headers = new Headers({ 'content-type': 'application/json' });
  const body = JSON.stringify(slackPayload(notification));
  const request = { channel: 'slack', url: config.url, headers, body, signal, fetch, secrets: urlSecrets(config.url) };
  expectSuccess(request, await post(request));
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
