import type { LockHolder, LockRecord } from '../store/types.ts';

/** What the liveness check needs from /proc; the runner's proc reader implements it. */
export interface ProcessProbe {
  /** True when `pid` is alive and, when `startTime` is given, is the same process (not a reused pid). */
  isAlive(pid: number, startTime: number | null): Promise<boolean>;
  /** Live processes carrying `NIGHTSHIFT_RUN_ID=<runId>`. */
  markedPids(runId: string): Promise<number[]>;
}

/**
 * A lock's holder is alive while its process lives or anything started for its run still does. The second half
 * matters after `kill -9` of the daemon: its job's children keep running with the marker, and a crontab `exec`
 * must not start a second copy beside them.
 *
 * Only holders on this host can be probed. With one SQLite file there is one host; a PostgreSQL fleet relies on the
 * lock's expiry and node heartbeats instead, so a holder on another host counts as alive here.
 */
export async function isHolderAlive(
  holder: LockHolder | LockRecord,
  probe: ProcessProbe,
  sameHost: boolean,
  nowMs: number,
): Promise<boolean> {
  if ('expires_at' in holder && holder.expires_at !== null && Date.parse(holder.expires_at) < nowMs) return false;
  if (!sameHost) return true;
  if (await probe.isAlive(holder.pid, holder.pid_start)) return true;
  return holder.run_id !== null && (await probe.markedPids(holder.run_id)).length > 0;
}
