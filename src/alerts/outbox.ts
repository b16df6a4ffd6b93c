/**
 * Delivers what the outbox holds. Every notification is in the store before anyone tries to send it, so a daemon
 * killed between queueing and sending sends it after the restart; one killed after sending but before marking it
 * sent sends it again (at-least-once: the store cannot share a transaction with Slack).
 *
 * One timer to the next due entry. Each channel has its own lane: its deliveries run one at a time and in order, each
 * bounded by OUTBOX.send_timeout, lanes side by side, never on the scheduler's path — a channel that hangs until its
 * timeout slows nothing but its own messages (PagerDuty is not held up 30 s behind a Slack that does not answer). A channel that keeps failing
 * becomes a `channel_failing` incident, told on the other channels.
 */
import { parseDuration } from '../config/units.ts';
import { OUTBOX } from '../config/defaults.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { ChannelBacklog, OutboxEntry, Store } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';
import { createChannel } from './channels/index.ts';
import type { IncidentDesk } from './incidents.ts';
import { renderText } from './message.ts';
import { ChannelError, type Channel, type Notification } from './types.ts';

const SEND_TIMEOUT_MS = parseDuration(OUTBOX.send_timeout);
const BACKOFF_MS = parseDuration(OUTBOX.backoff);
const MAX_BACKOFF_MS = parseDuration(OUTBOX.max_backoff);
const BATCH = 50;
/** How long a stopping daemon lets a delivery in flight finish. */
const STOP_GRACE_MS = 5_000;

export interface OutboxDeps {
  store: Store;
  logger: Logger;
  config: () => ResolvedConfig;
  incidents: IncidentDesk;
  /**
   * Whether this node sends (the cluster's leader, so each notification goes out once; always when absent). A node
   * that starts leading calls drain().
   */
  leading?: () => boolean;
  now?: () => number;
  /** The first retry's wait (doubling from there); OUTBOX.backoff by default. Tests shorten it. */
  backoffMs?: number;
  /** Tests and benchmarks may inject channels; by default they are made from the config. */
  channelFor?: (name: string, config: ResolvedConfig) => Channel | null;
}

export class OutboxSender {
  readonly #deps: OutboxDeps;
  readonly #now: () => number;
  readonly #timer = new DueTimer(() => void this.drain());
  readonly #stop = new AbortController();
  #draining: Promise<void> | null = null;
  /** Channels with a delivery lane running, and the lane; a lane ends when its batch is done and drains again. */
  readonly #lanes = new Map<string, Promise<void>>();
  #stopping = false;
  #again = false;
  #channels = new Map<string, { config: string; channel: Channel }>();

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    deps.incidents.events.on('queued', () => void this.drain());
  }

  /** Starts delivering in the background: a channel that is down must not hold up the daemon's start. */
  start(): void {
    void this.drain();
  }

  /**
   * Stops sending. A delivery in flight gets up to `graceMs` to finish and be marked sent — a message the receiver
   * already has must not go out again after the restart; past that it is abandoned and stays pending.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.#timer.cancel();
    this.#stopping = true;
    const inFlight = [this.#draining, ...this.#lanes.values()].filter((p) => p !== null);
    if (inFlight.length > 0) {
      const timer = setTimeout(() => this.#stop.abort(), graceMs);
      await Promise.all(inFlight);
      clearTimeout(timer);
    }
    this.#stop.abort();
  }

  /**
   * Hands every due entry to its channel's lane, then sleeps until the next one is due. Serialised: a call while
   * draining goes round again. Entries of a channel whose lane is busy wait for it: the lane drains again when done.
   */
  drain(): Promise<void> {
    if (this.#stopping || this.#deps.leading?.() === false) return Promise.resolve();
    if (this.#draining) {
      this.#again = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      try {
        do {
          this.#again = false;
          const due = await this.#deps.store.listDueNotifications(iso(this.#now()), BATCH);
          let started = false;
          for (const [channel, entries] of byChannel(due)) {
            if (this.#lanes.has(channel)) continue;
            started = true;
            this.#startLane(channel, entries);
          }
          // A full batch may hide more; read again only if this one gave a lane work (else it is all busy lanes').
          if (due.length === BATCH && started) this.#again = true;
        } while (this.#again && !this.#stopping);
        if (this.#stopping) return;
        const next = await this.#deps.store.nextNotificationDue();
        const at = next === null ? null : Date.parse(next);
        // Due already means a busy lane holds it; that lane drains when it finishes. Arming for "now" would spin.
        this.#timer.arm(at !== null && at <= this.#now() && this.#lanes.size > 0 ? null : at);
      } catch (error) {
        this.#deps.logger.error({ err: error }, 'the notification outbox could not be read; trying again in a minute');
        this.#timer.arm(this.#now() + 60_000);
      } finally {
        this.#draining = null;
      }
    })();
    return this.#draining;
  }

  #startLane(channel: string, entries: OutboxEntry[]): void {
    const lane = (async () => {
      for (const entry of entries) {
        if (this.#stopping) return;
        try {
          await this.#deliver(entry);
        } catch (error) {
          this.#deps.logger.error({ err: error, notification: entry.id, channel }, 'a notification could not be recorded as sent or failed');
        }
      }
    })().finally(() => {
      this.#lanes.delete(channel);
      if (!this.#stopping) void this.drain();
    });
    this.#lanes.set(channel, lane);
  }

  backlog(): Promise<ChannelBacklog[]> {
    return this.#deps.store.outboxSummary();
  }

  async #deliver(entry: OutboxEntry): Promise<void> {
    const { store, logger } = this.#deps;
    const config = this.#deps.config();
    const incident = await store.getIncident(entry.incident_id);
    const channel = this.#channel(entry.channel, config);
    if (incident === null || channel === null) {
      const why = incident === null ? 'its incident no longer exists' : `channel '${entry.channel}' is no longer in the config`;
      await store.markNotificationFailed(entry.id, why, null);
      logger.warn({ notification: entry.id, channel: entry.channel }, `notification dropped: ${why}`);
      return;
    }
    const notification: Notification = {
      event: entry.event,
      project: config.project,
      incident,
      text: renderText(entry.event, config.project, incident),
    };
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]);
    try {
      await channel.send(notification, signal);
      await store.markNotificationSent(entry.id, iso(this.#now()));
      logger.info({ notification: entry.id, channel: entry.channel, event: entry.event, incident: incident.id }, `notified ${entry.channel}`);
      if (entry.attempts > 0) await this.#deps.incidents.resolve('channel_failing', entry.channel, { excludeChannels: [entry.channel] });
    } catch (error) {
      if (this.#stop.signal.aborted) return; // shutting down: it stays pending and goes out after the restart
      await this.#failed(entry, error);
    }
  }

  async #failed(entry: OutboxEntry, error: unknown): Promise<void> {
    const attempts = entry.attempts + 1;
    const message = error instanceof Error ? error.message : String(error);
    const retryable = !(error instanceof ChannelError) || error.retryable;
    const giveUp = !retryable || attempts >= OUTBOX.max_attempts;
    const backoff = Math.min(MAX_BACKOFF_MS, (this.#deps.backoffMs ?? BACKOFF_MS) * 2 ** (attempts - 1));
    const wait = Math.max(backoff, error instanceof ChannelError ? (error.retryAfterMs ?? 0) : 0);
    await this.#deps.store.markNotificationFailed(entry.id, message, giveUp ? null : iso(this.#now() + wait));
    this.#deps.logger.warn(
      { notification: entry.id, channel: entry.channel, attempts, retry_in_ms: giveUp ? null : wait },
      giveUp ? `gave up notifying ${entry.channel}: ${message}` : `notifying ${entry.channel} failed (${message}); retrying`,
    );
    if (attempts >= OUTBOX.failing_after || giveUp) {
      await this.#deps.incidents.open(
        {
          kind: 'channel_failing',
          subject: entry.channel,
          summary: `alert channel ${entry.channel} is failing: ${message}`,
          detail: {
            fix: `check channel ${entry.channel} in the config (URL, token, address) and that the service is reachable from this host; messages wait in the outbox and go out once it works`,
            attempts,
            last_error: message,
          },
        },
        { excludeChannels: [entry.channel] },
      );
    }
  }

  /** Channels are made on first use and remade when their config changes (a reload). */
  #channel(name: string, config: ResolvedConfig): Channel | null {
    const channelConfig = config.channels[name];
    if (!channelConfig) return null;
    if (this.#deps.channelFor) return this.#deps.channelFor(name, config);
    const key = JSON.stringify(channelConfig);
    const cached = this.#channels.get(name);
    if (cached?.config === key) return cached.channel;
    const channel = createChannel(name, channelConfig);
    this.#channels.set(name, { config: key, channel });
    return channel;
  }
}

/** Due entries grouped by channel, each group in the order the store gave (oldest first). */
function byChannel(entries: OutboxEntry[]): Map<string, OutboxEntry[]> {
  const groups = new Map<string, OutboxEntry[]>();
  for (const entry of entries) {
    const group = groups.get(entry.channel);
    if (group) group.push(entry);
    else groups.set(entry.channel, [entry]);
  }
  return groups;
}
