/**
 * The watcher watched (seed 003: the monitor died with what it watched). With `self_ping: URL` — typically an
 * outside Healthchecks.io check — the daemon GETs the URL every SELF_PING_EVERY while it is healthy, and stops while
 * it is not, so the outside check goes late and tells a human that this daemon (or its host) is dead or stuck.
 * This is the one request nightshift sends off the machine, and only to the URL the user wrote.
 */
import { SELF_PING_EVERY } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import type { Logger } from '../util/logger.ts';

const EVERY_MS = parseDuration(SELF_PING_EVERY);
const TIMEOUT_MS = 10_000;

export interface SelfPingDeps {
  url: () => string | null;
  healthy: () => Promise<boolean>;
  logger: Logger;
  everyMs?: number;
}

export class SelfPing {
  readonly #deps: SelfPingDeps;
  #timer: NodeJS.Timeout | null = null;
  #failing = false;
  /** Pings sent successfully; for tests and status. */
  sent = 0;

  constructor(deps: SelfPingDeps) {
    this.#deps = deps;
  }

  start(): void {
    void this.#tick();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #tick(): Promise<void> {
    const url = this.#deps.url();
    if (url !== null) {
      try {
        if (await this.#deps.healthy()) {
          const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { 'user-agent': 'nightshift-self-ping' } });
          await response.body?.cancel();
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          this.sent += 1;
          if (this.#failing) this.#deps.logger.info('self_ping works again');
          this.#failing = false;
        }
      } catch (error) {
        // Logged once per outage: the outside check will say the rest.
        if (!this.#failing) this.#deps.logger.warn({ err: error }, `self_ping to ${new URL(url).host} failed; the outside check will see this daemon as late`);
        this.#failing = true;
      }
    }
    this.#timer = setTimeout(() => void this.#tick(), this.#deps.everyMs ?? EVERY_MS);
    this.#timer.unref();
  }
}
