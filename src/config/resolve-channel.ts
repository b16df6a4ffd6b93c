/** One channel as written → its ChannelConfig with every default applied. */

import { COMPUTED_DEFAULTS, DEFAULTS } from './defaults.ts';
import type { ChannelInput } from './schema/channels.ts';
import type { ChannelConfig } from './types.ts';

const CHANNEL = DEFAULTS.channels;

export function resolveChannel(channel: ChannelInput, hostname: string): ChannelConfig {
  switch (channel.type) {
    case 'webhook':
      return {
        type: 'webhook',
        url: channel.url,
        headers: { ...(channel.headers ?? CHANNEL.webhook.headers) },
        secret: emptyToNull(channel.secret) ?? CHANNEL.webhook.secret,
      };
    case 'slack':
    case 'discord':
      return { type: channel.type, url: channel.url };
    case 'telegram':
      return { type: 'telegram', botToken: channel.bot_token, chatId: channel.chat_id, apiUrl: channel.api_url ?? CHANNEL.telegram.api_url };
    case 'ntfy':
      return { type: 'ntfy', url: channel.url, token: emptyToNull(channel.token) ?? CHANNEL.ntfy.token };
    case 'pagerduty':
      return { type: 'pagerduty', routingKey: channel.routing_key, url: channel.url ?? CHANNEL.pagerduty.url };
    case 'email': {
      const smtp = CHANNEL.email.smtp;
      return {
        type: 'email',
        to: channel.to,
        // COMPUTED_DEFAULTS.email_from documents this.
        from: channel.from ?? COMPUTED_DEFAULTS.email_from.replace('<hostname>', hostname),
        smtp: {
          host: channel.smtp?.host ?? smtp.host,
          port: channel.smtp?.port ?? smtp.port,
          secure: channel.smtp?.secure ?? smtp.secure,
          user: emptyToNull(channel.smtp?.user) ?? smtp.user,
          pass: emptyToNull(channel.smtp?.pass) ?? smtp.pass,
        },
      };
    }
    case 'exec':
      return { type: 'exec', command: channel.command };
  }
}

/** `token: ${NTFY_TOKEN:-}` with the variable unset means "no token", not an empty one. */
export function emptyToNull(value: string | undefined): string | null | undefined {
  return value === '' ? null : value;
}
