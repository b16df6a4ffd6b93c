/**
 * The daemon's store, watched: every call's outcome feeds a StoreHealth (store-health.ts), so an unreachable database
 * is noticed by whichever part of the daemon touches it first (a scheduler tick, a watcher, an API request, a run's
 * end) without each of them knowing about it. The calls themselves are passed through unchanged.
 */
import { formatDuration, parseDuration } from '../config/units.ts';
import type { Logger } from '../util/logger.ts';
import { STORE_HEALTH } from '../config/defaults.ts';
import type { StoreConfig } from '../config/types.ts';
import { openStore, type OpenStoreOptions } from './open.ts';
import { StoreHealth } from './store-health.ts';
import type { Store } from './types.ts';

/** Any lock row: a primary-key read, as cheap as `SELECT 1` and needing no method beyond the Store interface. */
const PROBE_LOCK = 'daemon';

/** The health of each observed store, so the parts that hold only the Store can ask whether it is down. */
const healthOfStore = new WeakMap<Store, StoreHealth>();

/** The StoreHealth an observed store feeds; null for a store that is not observed (tests, the CLI). */
export function healthOf(store: Store): StoreHealth | null {
  return healthOfStore.get(store) ?? null;
}

/** Opens the configured store (as openStore does), watched; outages and recoveries are logged once each. */
export async function openObservedStore(config: StoreConfig, logger: Logger, options: OpenStoreOptions = {}): Promise<Store> {
  const raw = await openStore(config, options);
  const health = new StoreHealth({
    probe: () => raw.getLock(PROBE_LOCK),
    probeInitialMs: parseDuration(STORE_HEALTH.probe_initial),
    probeMaxMs: parseDuration(STORE_HEALTH.probe_max),
    onChange: (down, downForMs) => {
      if (down !== null) {
        logger.error(`the database is unreachable: ${down.error}; running jobs keep running, and what they do is recorded once it is back`);
      } else {
        logger.warn(`the database is reachable again after ${formatDuration(downForMs)}`);
      }
    },
  });
  return observeStore(raw, health);
}

/** `store` with every async method reporting its success or failure to `health`. */
export function observeStore(store: Store, health: StoreHealth): Store {
  const wrapped = new Map<PropertyKey, unknown>();
  const observed = new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let wrapper = wrapped.get(key);
      if (wrapper === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        wrapper = (...args: unknown[]): unknown => {
          // Called on the store itself, not the proxy: its private fields are only reachable through it.
          const result = method.apply(target, args);
          if (!(result instanceof Promise)) return result;
          return result.then(
            (resolved: unknown) => {
              health.succeeded();
              return resolved;
            },
            (error: unknown) => {
              health.failed(error);
              throw error;
            },
          );
        };
        wrapped.set(key, wrapper);
      }
      return wrapper;
    },
  });
  healthOfStore.set(observed, health);
  return observed;
}
