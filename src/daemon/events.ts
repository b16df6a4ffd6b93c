/**
 * The daemon's event feed: one place where what happens (runs starting and ending, incidents opening and resolving,
 * pings arriving, jobs paused or resumed) is published for whoever listens — the dashboard and `/api/v1/events` (SSE).
 *
 * It only forwards what the dispatcher, the incident desk and the ping intake already announce: nothing is polled,
 * so with no listener the cost is one function call per event. The store stays the one source of truth; an event
 * tells a listener *that* something changed, and carries the record as it was written.
 */
import type { DaemonEvent, EventFeed } from '../http/control-plane.ts';
import type { PingIntake, PingRequest } from '../http/ping-intake.ts';
import type { Incident, Run } from '../store/types.ts';

type Listener = (event: DaemonEvent) => void;

export class EventHub implements EventFeed {
  readonly #listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  publish(event: DaemonEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure (a closed SSE socket) must not stop the others or the publisher.
      }
    }
  }
}

/** The event maps of the parts the hub listens to (the dispatcher's and the incident desk's emitters). */
interface RunEmitter {
  on(event: 'run:started' | 'run:skipped' | 'run:queued', listener: (run: Run) => void): unknown;
  on(event: 'run:ended', listener: (run: Run, retry: Run | null) => void): unknown;
}
interface IncidentEmitter {
  on(event: 'incident:opened' | 'incident:resolved', listener: (incident: Incident) => void): unknown;
}

/** Forwards the dispatcher's run events and the incident desk's incident events to the hub. */
export function connectEvents(hub: EventHub, sources: { runs: RunEmitter; incidents: IncidentEmitter }): void {
  sources.runs.on('run:started', (run) => hub.publish({ type: 'run.started', run }));
  sources.runs.on('run:ended', (run) => hub.publish({ type: 'run.ended', run }));
  sources.runs.on('run:skipped', (run) => hub.publish({ type: 'run.skipped', run }));
  sources.runs.on('run:queued', (run) => hub.publish({ type: 'run.queued', run }));
  sources.incidents.on('incident:opened', (incident) => hub.publish({ type: 'incident.opened', incident }));
  sources.incidents.on('incident:resolved', (incident) => hub.publish({ type: 'incident.resolved', incident }));
}

/** The ping intake, publishing `check.pinged` after each ping it recorded (a check coming up or going down by a ping). */
export function publishingIntake(inner: PingIntake, hub: EventHub): PingIntake {
  const tell = (check: string, ping: PingRequest) => hub.publish({ type: 'check.pinged', target: check, kind: ping.kind, exit_code: ping.exitCode });
  return {
    async pingByUuid(uuid, ping) {
      const outcome = await inner.pingByUuid(uuid, ping);
      if (outcome !== 'not_found') tell(uuid, ping);
      return outcome;
    },
    async pingBySlug(slug, ping, create) {
      const outcome = await inner.pingBySlug(slug, ping, create);
      if (outcome !== 'not_found') tell(slug, ping);
      return outcome;
    },
  };
}
