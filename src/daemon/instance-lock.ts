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
 * One daemon per SQLite state: two would each fire every schedule. The lock is a row in the store held by this
 * process; one whose holder died (kill -9, power loss) is reclaimed. Resolves to the release function.
 */
export async function acquireInstanceLock(
  store: Store,
  host: HostProcesses,
  config: ResolvedConfig,
  pidStart: number | null,
): Promise<() => Promise<void>> {
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
