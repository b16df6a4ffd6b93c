import { randomUUID } from 'node:crypto';
import type { ResolvedConfig } from '../config/types.ts';
import type { Store } from '../store/types.ts';
import type { HostProcesses } from '../scheduler/host-processes.ts';
import { iso } from '../util/time.ts';

/** Thrown when another live daemon already owns the state directory. */
export class DaemonAlreadyRunningError extends Error {
  override name = 'DaemonAlreadyRunningError';
}

const INSTANCE_LOCK = 'daemon';

/**
 * On PostgreSQL the holder may be on another host, where its pid means nothing: the lock is held with a ttl and renewed
 * by a timer, so a daemon that died frees the database within INSTANCE_LEASE.ttl.
 */
export const INSTANCE_LEASE = { ttlMs: 30_000, renewEveryMs: 10_000 } as const;

/**
 * One daemon per SQLite state: two would each fire every schedule. The lock is a row in the store held by this
 * process; one whose holder died (kill -9, power loss) is reclaimed. Resolves to the release function.
 */
export async function acquireInstanceLock(
  store: Store,
  host: HostProcesses,
  config: ResolvedConfig,
  pidStart: number | null,
): Promise<() => Promise<void>> {
  if (config.store.kind !== 'sqlite') return acquireDatabaseLease(store, config, pidStart);
  const token = randomUUID();
  const request = { name: INSTANCE_LOCK, holder: { token, run_id: null, pid: process.pid, pid_start: pidStart, node: config.node } };
  let result = await store.acquireLock(request, iso(Date.now()));
  if (!result.acquired) {
    const holder = result.heldBy;
    if (await host.isAlive(holder.pid, holder.pid_start)) {
      throw new DaemonAlreadyRunningError(
        `another nightshift daemon (pid ${holder.pid}) is already running on ${config.stateDir}; stop it first (kill ${holder.pid}) or give this config another state_dir`,
      );
    }
    result = await store.acquireLock({ ...request, replaceToken: holder.token }, iso(Date.now()));
    if (!result.acquired) throw new DaemonAlreadyRunningError(`another nightshift daemon took ${config.stateDir} at the same moment`);
  }
  return async () => {
    await store.releaseLock(INSTANCE_LOCK, token);
  };
}

/**
 * One daemon per PostgreSQL database, until leader election lets several share one (docs/scale-out.md): two today would
 * each fire every schedule, and each would take the other's running runs for its own after a restart.
 */
async function acquireDatabaseLease(store: Store, config: ResolvedConfig, pidStart: number | null): Promise<() => Promise<void>> {
  const token = randomUUID();
  const holder = { token, run_id: null, pid: process.pid, pid_start: pidStart, node: config.node };
  const result = await store.acquireLock({ name: INSTANCE_LOCK, holder, ttl_ms: INSTANCE_LEASE.ttlMs }, iso(Date.now()));
  if (!result.acquired) {
    const other = result.heldBy;
    throw new DaemonAlreadyRunningError(
      `another nightshift daemon (node ${other.node}, pid ${other.pid}) is using this PostgreSQL database; this version runs one daemon per database (several nodes are not supported yet, docs/scale-out.md): stop it first, or wait ${INSTANCE_LEASE.ttlMs / 1000} s if it died`,
    );
  }
  const timer = setInterval(() => {
    store.renewLock(INSTANCE_LOCK, token, INSTANCE_LEASE.ttlMs, iso(Date.now())).catch(() => {
      // A failed renewal (the database briefly away) is retried at the next tick; the ttl leaves room for two misses.
    });
  }, INSTANCE_LEASE.renewEveryMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await store.releaseLock(INSTANCE_LOCK, token);
  };
}
