/**
 * One Channel per configured channel. HTTP channels take `fetch` from `deps` so a test or a proxy-aware caller can
 * supply its own; everything else uses Node's global fetch.
 */
import type { ChannelConfig } from '../../config/types.ts';
import type { Channel } from '../types.ts';
import { discordChannel } from './discord.ts';
import { emailChannel } from './email.ts';
import { execChannel } from './exec.ts';
import type { FetchLike } from './http.ts';
import { ntfyChannel } from './ntfy.ts';
import { pagerDutyChannel } from './pagerduty.ts';
import { slackChannel } from './slack.ts';
import { telegramChannel } from './telegram.ts';
import { webhookChannel } from './webhook.ts';

export interface ChannelDeps {
  fetch?: FetchLike;
}

export function createChannel(name: string, config: ChannelConfig, deps: ChannelDeps = {}): Channel {
  // Looked up per call, not captured at import, so a fetch installed later (a test's, undici's) is the one used.
  const fetch: FetchLike = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
  switch (config.type) {
    case 'webhook':
      return webhookChannel(name, config, fetch);
    case 'slack':
      return slackChannel(name, config, fetch);
    case 'discord':
      return discordChannel(name, config, fetch);
    case 'telegram':
      return telegramChannel(name, config, fetch);
    case 'ntfy':
      return ntfyChannel(name, config, fetch);
    case 'pagerduty':
      return pagerDutyChannel(name, config, fetch);
    case 'email':
      return emailChannel(name, config);
    case 'exec':
      return execChannel(name, config);
  }
}
