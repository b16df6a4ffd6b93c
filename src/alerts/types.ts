/**
 * The alerting contract between incidents, the outbox and the channels (DESIGN.md "JSON shapes": webhook body).
 * Records themselves (Incident, OutboxEntry) live in the store's types, which everything below may import.
 */
import type { Incident, NotificationEvent } from '../store/types.ts';

export type { Incident, IncidentDetail, IncidentKind, NotificationEvent, OutboxEntry } from '../store/types.ts';

/** Exactly the webhook body of DESIGN.md; every channel renders from it. */
export interface Notification {
  event: NotificationEvent;
  project: string;
  incident: Incident;
  /** The whole message as plain text (message.ts); channels shorten it to their limits. */
  text: string;
}

/**
 * A delivery that did not work. `retryable: false` (a 400 from Slack, a rejected address) will not work on a retry
 * either; the outbox gives such an entry up at once and says why, instead of retrying it for a day.
 */
export class ChannelError extends Error {
  readonly retryable: boolean;
  /** The receiver asked us to wait (HTTP 429 Retry-After, Telegram's retry_after). */
  readonly retryAfterMs: number | null;
  constructor(message: string, opts: { retryable: boolean; retryAfterMs?: number | null; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'ChannelError';
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}

export interface Channel {
  readonly name: string;
  readonly type: string;
  /** Delivers one notification or throws ChannelError. Must give up when `signal` aborts (the outbox's deadline). */
  send(notification: Notification, signal: AbortSignal): Promise<void>;
}
