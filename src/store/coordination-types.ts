/**
 * The store's records for coordination between jobs (issue 7): shared state by key with versions and an audit log,
 * and what upstream freshness reads about a job. Named locks reuse the `locks` table (types.ts); their rows are named
 * `NAMED_LOCK_PREFIX + name` so they never collide with job locks (`job:`), `exec` locks or the daemon's own.
 * Part of the Store contract in types.ts (which re-exports all of this).
 */

/** Row-name prefix of the locks that `lock()`, `nightshift lock` and `/api/v1/locks` take. */
export const NAMED_LOCK_PREFIX = 'lock:';

/** Whether a lock row is a named (coordination) lock rather than a job's or the daemon's own. */
export function isNamedLock(rowName: string): boolean {
  return rowName.startsWith(NAMED_LOCK_PREFIX);
}

/** Who changed a key: a run (its job and id), or the operator (both null: the API token or the CLI without a run). */
export interface StateAuthor {
  job: string | null;
  run_id: string | null;
}

/** One key of shared state as it is now. */
export interface StateEntry {
  key: string;
  /** The parsed JSON value. */
  value: unknown;
  /** 1 for the first write of a key, one more for each write after it. */
  version: number;
  updated_at: string;
  updated_by_job: string | null;
  updated_by_run: string | null;
}

/** A write of one key; the store checks `expect_version` and writes in one transaction. */
export interface StateWrite {
  key: string;
  /** The value as JSON text (the caller serialised and size-checked it). */
  value_json: string;
  /**
   * Compare-and-set: the write happens only when the key's version is this now (0: only when the key does not exist
   * yet). Absent or null: the write happens whatever the version.
   */
  expect_version?: number | null;
  by: StateAuthor;
  at: string;
  /** Keep at most this many audit-log entries of the key (the oldest go). */
  log_keep: number;
  /** The audit log keeps the value itself only up to this many bytes of JSON; a bigger one is logged by size. */
  log_value_max_bytes: number;
}

export type StateWriteResult =
  | { written: true; version: number }
  /** `current_version` is 0 when the key does not exist. */
  | { written: false; current_version: number };

/** One audit-log entry: who wrote which version of a key, when. */
export interface StateLogEntry {
  key: string;
  version: number;
  /** The value written, or null when it was larger than the log keeps (see `size_bytes`). */
  value: unknown;
  /** Whether `value` is the value written (false: it was too large to keep in the log). */
  value_kept: boolean;
  size_bytes: number;
  job: string | null;
  run_id: string | null;
  at: string;
}

/** What upstream freshness looks at for one job (src/coordination/upstream.ts). */
export interface JobActivity {
  /** When its newest successful run ended; null when none is recorded. */
  last_success_at: string | null;
  /**
   * The last sign of life of a run of it that is running now: its newest heartbeat, or its start when it has not
   * beaten yet; null when none is running.
   */
  running_alive_at: string | null;
  /** Whether any run of the job is recorded at all (a job only `exec` knows has no config entry). */
  known: boolean;
}

export interface CoordinationStore {
  /** The key's value and version, or null when it was never written. */
  getState(key: string): Promise<StateEntry | null>;
  /**
   * Writes a key (a new version, an audit-log entry, the log trimmed to `log_keep`) in one write transaction, so
   * concurrent writers are serialised and a compare-and-set can never lose an update.
   */
  setState(write: StateWrite): Promise<StateWriteResult>;
  /** The key's audit log, newest first. */
  listStateLog(key: string, limit: number): Promise<StateLogEntry[]>;
  /** Keys in name order, with their versions (values left out: they may be large). */
  listStateKeys(limit: number): Promise<Array<Omit<StateEntry, 'value'>>>;
  /** What upstream freshness needs to know about `job`. */
  jobActivity(job: string): Promise<JobActivity>;
  /**
   * Sets the `degraded` note of a queued run before it starts (a queued run is looked at again when it starts, so its
   * upstream is judged then); false when the run is not queued.
   */
  setQueuedRunDegraded(runId: string, degraded: string | null): Promise<boolean>;
}
