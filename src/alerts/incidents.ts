/**
 * Opens, resolves and renotifies incidents: "opened once, notified once, resolved once" (DESIGN.md).
 *
 * The store does the once-ness (one open incident per kind and subject, written with its notifications in one
 * transaction), so a watcher can call `open` on every evaluation without spamming, and a restart neither repeats nor
 * loses one. Recoveries are queued `flap_window` late; a relapse within it reopens the same incident untold.
 * Renotification runs on one timer to the next incident that is due for it.
 */
import { EventEmitter } from 'node:events';
import type { ResolvedConfig } from '../config/types.ts';
import type { Incident, IncidentDetail, IncidentKind, NewNotification, Store } from '../store/types.ts';
import { newRunId } from '../util/ids.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';
import { DueTimer } from '../util/due-timer.ts';

export interface IncidentInput {
  kind: IncidentKind;
  subject: string;
  summary: string;
  detail: IncidentDetail;
}

export interface IncidentDeskDeps {
  store: Store;
  logger: Logger;
  config: () => ResolvedConfig;
  /** Whether this node sends reminders (the cluster's leader: one reminder, not one per node). Always when absent. */
  leading?: () => boolean;
  now?: () => number;
}

export interface IncidentEvents {
  'incident:opened': [incident: Incident];
  'incident:resolved': [incident: Incident];
  /** Something was queued in the outbox: the sender should look. */
  queued: [];
}

export class IncidentDesk {
  readonly events = new EventEmitter<IncidentEvents>();
  readonly #deps: IncidentDeskDeps;
  readonly #now: () => number;
  readonly #renotify = new DueTimer(() => void this.renotifyDue());

  constructor(deps: IncidentDeskDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.renotifyDue();
  }

  stop(): void {
    this.#renotify.cancel();
  }

  /** Opens the incident unless one is open for the same kind and subject; returns whichever is open now. */
  async open(input: IncidentInput, opts: { excludeChannels?: readonly string[] } = {}): Promise<Incident> {
    const at = this.#now();
    const { incident, outcome } = await this.#deps.store.openIncident({
      id: newRunId(at),
      ...input,
      at: iso(at),
      notify: this.#recipients(opts.excludeChannels),
    });
    if (outcome === 'opened') {
      this.#deps.logger.warn({ incident: incident.id, kind: incident.kind, subject: incident.subject }, `incident opened: ${incident.summary}`);
      this.events.emit('incident:opened', incident);
      this.events.emit('queued');
      this.#armRenotify(incident);
    } else if (outcome === 'reopened') {
      this.#deps.logger.warn({ incident: incident.id, kind: incident.kind, flaps: incident.detail.flaps }, `incident came back before its recovery was sent: ${incident.summary}`);
      this.events.emit('incident:opened', incident);
    }
    return incident;
  }

  /** Resolves the open incident of this kind and subject, if any; its recovery goes out after flap_window. */
  async resolve(kind: IncidentKind, subject: string, opts: { excludeChannels?: readonly string[] } = {}): Promise<Incident | null> {
    const at = this.#now();
    const resolved = await this.#deps.store.resolveIncident({
      kind,
      subject,
      at: iso(at),
      notify: this.#recipients(opts.excludeChannels),
      notify_at: iso(at + this.#deps.config().alerts.flapWindowMs),
    });
    if (resolved) {
      this.#deps.logger.info({ incident: resolved.id, kind, subject }, `incident resolved: ${resolved.summary}`);
      this.events.emit('incident:resolved', resolved);
      this.events.emit('queued');
    }
    return resolved;
  }

  /** Queues a renotification for every open incident due one, and arms the timer for the next. */
  async renotifyDue(): Promise<void> {
    const every = this.#deps.config().alerts.renotifyMs;
    if (every === null || this.#deps.leading?.() === false) return this.#renotify.cancel();
    try {
      const now = this.#now();
      let next: number | null = null;
      for (const incident of await this.#deps.store.listIncidents({ open: true, limit: 10_000 })) {
        let due = Date.parse(incident.last_notified_at) + every;
        if (due <= now && (await this.#deps.store.renotifyIncident(incident.id, iso(now), this.#recipients()))) {
          this.events.emit('queued');
          due = now + every;
        }
        next = next === null ? due : Math.min(next, due);
      }
      this.#renotify.arm(next);
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'renotifying open incidents failed; trying again in a minute');
      this.#renotify.arm(this.#now() + 60_000);
    }
  }

  #armRenotify(incident: Incident): void {
    const every = this.#deps.config().alerts.renotifyMs;
    if (every === null) return;
    const due = Date.parse(incident.last_notified_at) + every;
    const armed = this.#renotify.dueAt;
    if (armed === null || due < armed) this.#renotify.arm(due);
  }

  #recipients(exclude: readonly string[] = []): NewNotification[] {
    const config = this.#deps.config();
    return config.alerts.channels
      .filter((channel) => !exclude.includes(channel) && Object.hasOwn(config.channels, channel))
      .map((channel) => ({ id: newRunId(this.#now()), channel }));
  }
}
