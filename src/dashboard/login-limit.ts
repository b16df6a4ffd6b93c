/**
 * Failed sign-ins are limited: past DASHBOARD.login_failures wrong tokens within DASHBOARD.login_window, /login
 * answers 429 until the oldest failure leaves the window. The API token is long and random, so this is defence in
 * depth for a hand-picked `http.token` on a daemon listening beyond loopback. It counts for the whole daemon, not per
 * address: behind a reverse proxy every caller has the proxy's address. The operator keeps the CLI meanwhile.
 */
import { DASHBOARD } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';

const WINDOW_MS = parseDuration(DASHBOARD.login_window);

export class LoginLimit {
  readonly #failures: number[] = [];
  readonly #now: () => number;
  readonly #max: number;

  constructor(options: { now?: () => number; max?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#max = options.max ?? DASHBOARD.login_failures;
  }

  /** Milliseconds until a sign-in may be tried again; 0 when it may now. */
  retryInMs(): number {
    const now = this.#now();
    while (this.#failures.length > 0 && this.#failures[0]! <= now - WINDOW_MS) this.#failures.shift();
    return this.#failures.length < this.#max ? 0 : this.#failures[0]! + WINDOW_MS - now;
  }

  failed(): void {
    this.#failures.push(this.#now());
  }
}
