/**
 * A generic webhook: POSTs DESIGN.md's webhook body `{ event, project, incident, text }` as JSON.
 *
 * With `secret` set, the receiver can prove the body came from us, GitHub-style:
 *   X-Nightshift-Signature: sha256=<hex HMAC-SHA256(secret, the exact body bytes)>
 *   X-Nightshift-Timestamp: <unix seconds when sent>
 * The signature covers the body only (as the contract asks), so the timestamp is informational: a receiver that
 * wants replay protection remembers (incident.id, event) pairs it has handled. docs/alerts-channels.md shows the check.
 */
import { createHmac } from 'node:crypto';

import type { ChannelConfig } from '../../config/types.ts';
import type { Channel, Notification } from '../types.ts';
import { expectSuccess, post, urlSecrets, type FetchLike } from './http.ts';

export type WebhookConfig = Extract<ChannelConfig, { type: 'webhook' }>;

export const SIGNATURE_HEADER = 'X-Nightshift-Signature';
export const TIMESTAMP_HEADER = 'X-Nightshift-Timestamp';

export function webhookChannel(name: string, config: WebhookConfig, fetch: FetchLike): Channel {
  return { name, type: 'webhook', send: (notification, signal) => send(config, fetch, notification, signal) };
}

async function send(config: WebhookConfig, fetch: FetchLike, notification: Notification, signal: AbortSignal): Promise<void> {
  // Rebuilt field by field so the body is exactly the contract, whatever else the caller's object carries.
  const { event, project, incident, text } = notification;
  const body = Buffer.from(JSON.stringify({ event, project, incident, text }), 'utf8');
  // Configured headers first; ours win, case-insensitively, so a header cannot break the body or forge a signature.
  const headers = new Headers(config.headers);
  headers.set('content-type', 'application/json');
  if (config.secret !== null) {
    for (const [header, value] of Object.entries(signatureHeaders(config.secret, body, Date.now()))) headers.set(header, value);
  }
  const secrets = [...urlSecrets(config.url), ...headerSecrets(config.headers), ...(config.secret === null ? [] : [config.secret])];
  const request = { channel: 'webhook', url: config.url, headers, body, signal, fetch, secrets };
  expectSuccess(request, await post(request));
}

export function signatureHeaders(secret: string, body: Uint8Array, nowMs: number): Record<string, string> {
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  return { [SIGNATURE_HEADER]: `sha256=${hex}`, [TIMESTAMP_HEADER]: String(Math.floor(nowMs / 1000)) };
}

/** Configured header values are usually credentials (Authorization, X-Api-Key); short ones cannot be. */
function headerSecrets(headers: Record<string, string>): string[] {
  return Object.values(headers).filter((value) => value.length >= 8);
}
