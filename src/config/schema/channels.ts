/** `channels.<name>`: where notifications go, one shape per `type`. */

import * as z from 'zod';
import { COMPUTED_DEFAULTS, DEFAULTS } from '../defaults.ts';
import { optional, required } from './field.ts';
import { bool, command, httpUrl, integer, listOf, text, textMap } from './values.ts';

const CHANNEL = DEFAULTS.channels;

function channel<const T extends string, S extends z.core.$ZodLooseShape>(type: T, shape: S) {
  return z.strictObject({ type: z.literal(type).meta({ description: `Selects the ${type} channel.` }), ...shape });
}

const email = channel('email', {
  to: required(listOf(text(), 'addresses'), {
    description: 'Recipient address, or a list of them.',
    example: 'to: [ops@example.com]',
  }),
  from: optional(text(), { description: 'Sender address.', computedDefault: COMPUTED_DEFAULTS.email_from }),
  smtp: optional(
    z.strictObject({
      host: optional(text(), { description: 'SMTP server.', default: CHANNEL.email.smtp.host }),
      port: optional(integer({ min: 1, example: '587' }), {
        description: 'SMTP port.',
        default: CHANNEL.email.smtp.port,
      }),
      secure: optional(bool(), {
        description: 'TLS from the start (port 465); false uses STARTTLS when offered.',
        default: CHANNEL.email.smtp.secure,
      }),
      user: optional(text(), { description: 'SMTP login.', default: CHANNEL.email.smtp.user }),
      pass: optional(text(), {
        description: 'SMTP password; write ${SMTP_PASS} to keep it out of the file.',
        default: CHANNEL.email.smtp.pass,
      }),
    }),
    { description: 'How to reach the mail server.', example: 'smtp: { host: smtp.example.com, port: 587 }' },
  ),
});

export const CHANNEL_SCHEMAS = [
  channel('webhook', {
    url: required(httpUrl(), {
      description: 'POSTed a JSON body { event, project, incident, text }.',
      example: 'url: https://example.com/hook',
    }),
    headers: optional(textMap(), { description: 'Extra HTTP headers.', default: CHANNEL.webhook.headers }),
    secret: optional(text(), {
      description: 'Signs each body with HMAC-SHA256 in X-Nightshift-Signature (see docs/alerts-channels.md).',
      default: CHANNEL.webhook.secret,
      example: 'secret: ${WEBHOOK_SECRET}',
    }),
  }),
  channel('slack', {
    url: required(httpUrl(), { description: 'Slack incoming-webhook URL.', example: 'url: ${SLACK_WEBHOOK_URL}' }),
  }),
  channel('discord', {
    url: required(httpUrl(), { description: 'Discord webhook URL.', example: 'url: ${DISCORD_WEBHOOK_URL}' }),
  }),
  channel('telegram', {
    bot_token: required(text(), {
      description: 'Bot token from @BotFather.',
      example: 'bot_token: ${TELEGRAM_BOT_TOKEN}',
    }),
    chat_id: required(text(), { description: 'Chat to post in.', example: 'chat_id: "-1001234567890"' }),
    api_url: optional(httpUrl(), { description: 'Bot API base URL.', default: CHANNEL.telegram.api_url }),
  }),
  channel('ntfy', {
    url: required(httpUrl(), { description: 'Topic URL.', example: 'url: https://ntfy.sh/my-topic' }),
    token: optional(text(), { description: 'Access token for a protected topic.', default: CHANNEL.ntfy.token }),
  }),
  channel('pagerduty', {
    routing_key: required(text(), {
      description: 'Events API v2 integration key.',
      example: 'routing_key: ${PAGERDUTY_KEY}',
    }),
    url: optional(httpUrl(), { description: 'Events API endpoint.', default: CHANNEL.pagerduty.url }),
  }),
  email,
  channel('exec', {
    command: required(command(), {
      description: 'Runs with the notification as JSON on stdin.',
      example: 'command: [/usr/local/bin/notify]',
    }),
  }),
] as const;

export const CHANNEL_TYPES = CHANNEL_SCHEMAS.map((schema) => schema.shape.type.value);

export const channelSchema = z
  .discriminatedUnion('type', CHANNEL_SCHEMAS)
  .meta({ type: 'mapping with a type', example: '{ type: webhook, url: https://example.com/hook }' });

export type ChannelInput = z.output<typeof channelSchema>;
