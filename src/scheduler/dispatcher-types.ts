/** The dispatcher's contract: what asks it for a start, what it tells, and what it needs from the daemon. */
import type { JobConfig } from '../config/types.ts';
import type { LockRecord, Run, RunTrigger, Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import type { ProcessProbe } from './holder-liveness.ts';
import type { RunLauncher } from './run-launcher.ts';
import type { RunPolicy } from './run-policy.ts';

/** What asks for a start: a schedule fire, an operator, a retry … */
export interface StartRequest {
  trigger: RunTrigger;
  scheduledAtMs: number;
  attempt?: number;
  chainId?: string;
  /** This start is a schedule fire: recording it moves the job's fire cursor (see NewRun.fire). */
  fire?: boolean;
  /**
   * The run takes a lock of its own, `job:<name>#<lockKey>`, instead of the job's, and overlap does not apply: a
   * queue-driven run locks its task (`task:<id>`), so up to the queue's `concurrency` of them run at once while every
   * other start of the job still takes the job lock. Held by a live run: skipped (`reason: overlap`).
   */
  lockKey?: string;
}

export interface DispatcherEvents {
  'run:started': [run: Run];
  /** `retry` is the next attempt queued in the same transaction, or null when this run ends its chain. */
  'run:ended': [run: Run, retry: Run | null];
  'run:skipped': [run: Run];
  'run:queued': [run: Run];
}

export interface DispatcherDeps {
  store: Store;
  launcher: RunLauncher;
  probe: ProcessProbe;
  logger: Logger;
  node: string;
  /**
   * Several nodes share the store: a job pinned to another node (`jobs.X.node`) is queued for that node rather than
   * started here, and this node leaves that job's queued runs alone.
   */
  /** Several nodes: asks the node running `runId` to cancel it as replaced (`overlap: replace` across nodes). */
  cancelRemote?: (runId: string) => Promise<boolean>;
  pinning?: boolean;
  /** The current job definitions (they change on reload; running runs keep the definition they started with). */
  jobs: () => Readonly<Record<string, JobConfig>>;
  maxConcurrentRuns: () => number;
  /** One SQLite file means one host, where lock holders can be probed through /proc. */
  sameHost: boolean;
  /** The daemon's own process start time (from /proc), so a lock it holds is not mistaken for a reused pid's. */
  pidStart: number | null;
  /** Kills a lock holder outside this daemon (overlap: replace against an `exec` wrapper). */
  killExternal: (holder: LockRecord, killGraceMs: number) => Promise<void>;
  /**
   * Memory admission (limits.min_available_memory): why no run may start now, or null. A refused run waits queued,
   * looked at again every ADMISSION_RECHECK, for at most ADMISSION_MAX_WAIT; then it is skipped (`reason: memory`).
   */
  admit?: () => Promise<string | null>;
  /** Containment's say on starts and ends (src/supervisor/containment.ts); without one, only pauses hold a job. */
  policy?: RunPolicy;
  now?: () => number;
  /** Resolves when an unreachable store is back (null: not known to be down): a run end being retried goes at once. */
  storeUp?: () => Promise<void> | null;
}
