/**
 * Shared state (docs/coordination.md): JSON values by key, each write a new version, every write audited with the
 * job and run that made it. Inside a run the writes are the run's own; outside one they are the operator's.
 *
 * @example
 * ```ts
 * import { state } from 'nightshift/sdk';
 * const seen = await state.get<string[]>('seen-urls');            // { value, version } | null
 * await state.set('last-scan', { at: new Date().toISOString() });  // { version }
 * // Two agents doing this at once never lose an increment: a stale write is retried on the new value.
 * const { value } = await state.update<number>('published', (n) => (n ?? 0) + 1);
 * ```
 *
 * CLI twins: `nightshift state get KEY`, `state set KEY JSON [--if-version N]`, `state log KEY`. HTTP:
 * `GET|PUT /api/v1/state/KEY`, `GET /api/v1/state/KEY/log`.
 */
import type { StateLogEntry } from '../store/coordination-types.ts';
import { call, ConflictError, daemonFromEnv, NightshiftError, type DaemonAddress } from './client.ts';

/** How many times `update` re-reads and retries after a conflict before giving up with the ConflictError. */
const UPDATE_ATTEMPTS = 200;

export type { StateLogEntry };

export interface StateApi {
  /** The key's value and version, or null when it was never written. */
  get<T = unknown>(key: string): Promise<{ value: T; version: number } | null>;
  /**
   * Writes the key's next version. With `version` it is a compare-and-set (0: only if the key does not exist yet): a
   * key no longer at that version throws a ConflictError and writes nothing.
   */
  set(key: string, value: unknown, options?: { version?: number }): Promise<{ version: number }>;
  /**
   * Read, apply `fn`, write back with the version read; on a conflict (someone wrote in between) read again and
   * re-apply. `fn` gets undefined for a key never written. `fn` may run more than once: keep it free of side effects.
   */
  update<T = unknown>(key: string, fn: (value: T | undefined) => T | Promise<T>): Promise<{ value: T; version: number }>;
  /** Who changed the key, when, and to what; newest first. */
  log(key: string, options?: { limit?: number }): Promise<StateLogEntry[]>;
}

/** The state API against a given daemon (the CLI uses this); `state` below finds the daemon in the environment. */
export function stateClient(daemon: () => DaemonAddress): StateApi {
  const path = (key: string) => `/state/${encodeURIComponent(key)}`;
  const api: StateApi = {
    async get<T>(key: string) {
      try {
        const entry = await call<{ value: T; version: number }>(daemon(), 'GET', path(key));
        return { value: entry.value, version: entry.version };
      } catch (error) {
        if (error instanceof NightshiftError && error.code === 'unknown_key') return null;
        throw error;
      }
    },

    async set(key, value, options = {}) {
      const body = options.version === undefined ? { value } : { value, version: options.version };
      const written = await call<{ version: number }>(daemon(), 'PUT', path(key), { body });
      return { version: written.version };
    },

    async update<T>(key: string, fn: (value: T | undefined) => T | Promise<T>) {
      for (let attempt = 1; ; attempt++) {
        const current = await api.get<T>(key);
        const next = await fn(current?.value);
        try {
          const { version } = await api.set(key, next, { version: current?.version ?? 0 });
          return { value: next, version };
        } catch (error) {
          if (!(error instanceof ConflictError) || attempt >= UPDATE_ATTEMPTS) throw error;
          // A short random pause spreads writers that keep colliding.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 2)));
        }
      }
    },

    async log(key, options = {}) {
      return call<StateLogEntry[]>(daemon(), 'GET', `${path(key)}/log?limit=${options.limit ?? 100}`);
    },
  };
  return api;
}

/** Shared state through the daemon named by the environment (NIGHTSHIFT_URL and the run's token). */
export const state: StateApi = stateClient(() => daemonFromEnv());
