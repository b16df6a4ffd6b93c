import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/**
 * Run ids are ULIDs: sortable by creation time and unique across hosts and projects, so the marker
 * `NIGHTSHIFT_RUN_ID=<id>` is safe to sweep by even with several daemons on one host.
 */
export function newRunId(now: number = Date.now()): string {
  return nextUlid(now);
}
