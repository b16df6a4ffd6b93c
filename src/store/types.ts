/**
 * The store: the only shared state in nightshift. Everything that matters is written here before it is acted on.
 *
 * The interface is narrow and semantic (start a run under its job's lock, finish a run and queue its retry in one
 * step …) and exposes no connection type, so a PostgreSQL dialect can implement it unchanged. It is async even though
 * better-sqlite3 is synchronous, for the same reason.
 *
 * Records use the snake_case field names of the public JSON contract (DESIGN.md "JSON shapes"), so the API and
 * `--json` print them as they are; times are ISO-8601 UTC strings, durations milliseconds.
 *
 * The store never reads the clock: every time it records on a run, lock or job, or compares against (lock expiry
 * included), comes from the caller, so tests need no fake timers. Failures are `StoreError`s (src/store/errors.ts)
 * with a stable `code`.
 */

export * from './watch-types.ts';
export * from './coordination-types.ts';
export * from './task-types.ts';
import type { TaskStore } from './task-types.ts';
import type { CoordinationStore } from './coordination-types.ts';
import type {
  ChannelBacklog,
  CheckRecord,
  CheckSpec,
  Incident,
  IncidentDetail,
  IncidentKind,
  NewIncident,
  NewNotification,
  NewPing,
  OutboxEntry,
  Ping,
} from './watch-types.ts';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'killed', 'lost', 'skipped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINISHED_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'killed', 'lost', 'skipped'];

/** `start` (a service started by the daemon, at its start or after a reload or resume) is an addition to DESIGN.md. */
export const RUN_TRIGGERS = ['schedule', 'manual', 'retry', 'catch_up', 'api', 'exec', 'restart', 'task', 'start'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/**
 * Short stable codes. `shutdown` (the daemon stopped and its grace ran out) and `replaced` (overlap: replace) are
 * additions to DESIGN.md's list.
 */
export type RunReason =
  | 'overlap'
  | 'paused'
  | 'timeout'
  | 'memory'
  | 'start_failed'
  | 'crash_loop'
  | 'breaker_open'
  | 'budget_exhausted'
  | 'daemon_restart'
  | 'stalled'
  | 'missed'
  | 'upstream_stale'
  | 'halted'
  | 'node_lost'
  | 'replaced'
  | 'shutdown';

export interface Run {
  id: string;
  job: string;
  /** 1 for the first attempt, 2 for the first retry … */
  attempt: number;
  status: RunStatus;
  reason: RunReason | null;
  trigger: RunTrigger;
  exit_code: number | null;
  signal: string | null;
  /** When the start was due (the cron fire, or the retry's backoff end); equals created time for manual starts. */
  scheduled_at: string;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  pid: number | null;
  degraded: string | null;
  /** Processes still carrying the run's marker after its main process ended, killed by nightshift. */
  orphans_killed: number;
  node: string;
  /** The id of the first attempt of this run's retry chain (its own id for a first attempt). */
  chain_id: string;
  /** Human-readable detail for a failed start or a kill (e.g. "spawn /opt/x ENOENT"); null otherwise. */
  error: string | null;
  /** The run's last heartbeat (NIGHTSHIFT_HEARTBEAT_URL, `nightshift heartbeat`); null before the first. */
  heartbeat_at: string | null;
  /** Not before this should a retry start (`nightshift retry-after D`, honoured when the run exits 75). */
  retry_after_at: string | null;
}

/** What the caller supplies for a new run; the store fills id-independent defaults. */
export interface NewRun {
  id: string;
  job: string;
  attempt: number;
  chain_id: string;
  trigger: RunTrigger;
  scheduled_at: string;
  node: string;
  degraded?: string | null;
  /**
   * This run is the scheduler's decision about the schedule fire at `scheduled_at`: whichever way it is recorded
   * (started, queued or skipped), the job's `last_fire_at` moves to `scheduled_at` in the same transaction, so a crash
   * can neither lose the fire nor make a restart fire it twice.
   */
  fire?: boolean;
}

/** How a run ended, as recorded by `finishRun`. */
export interface RunEnd {
  status: Exclude<RunStatus, 'queued' | 'running'>;
  reason: RunReason | null;
  exit_code: number | null;
  signal: string | null;
  ended_at: string;
  orphans_killed?: number;
  error?: string | null;
}

/** Who holds a lock. A holder is dead when its process is gone and nothing carries its run's marker. */
export interface LockHolder {
  /** Opaque token identifying this holding; compare-and-swap reclaims use it. */
  token: string;
  run_id: string | null;
  pid: number;
  /** The process start time (from /proc/PID/stat) so a reused PID is not mistaken for the holder. */
  pid_start: number | null;
  node: string;
}

export interface LockRecord extends LockHolder {
  name: string;
  acquired_at: string;
  /** null = held until released or its holder dies. */
  expires_at: string | null;
}

export interface LockRequest {
  name: string;
  holder: LockHolder;
  ttl_ms?: number | null;
  /** Take the lock even though `replaceToken`'s holder still has it (the caller proved that holder dead). */
  replaceToken?: string | null;
}

export type StartRunResult = { started: true; run: Run } | { started: false; heldBy: LockRecord };

export interface JobState {
  job: string;
  paused: boolean;
  /** The last schedule fire the scheduler acted on (fired, skipped or recorded missed); null before the first. */
  last_fire_at: string | null;
  /** Why the job does not start on its own right now (besides a pause); null when nothing holds it. */
  hold: JobHold | null;
}

/**
 * `halted`: a start failure or a spent retry budget stopped the job until a config reload or `resume` (start
 * failures) or `resume` (budgets); its fires are recorded as skipped with reason `halted`. `crash_loop`: a service
 * failing quickly again and again; it keeps restarting at the longest backoff until it stays up.
 */
export interface JobHold {
  state: 'halted' | 'crash_loop';
  reason: 'start_failed' | 'budget_exhausted' | 'crash_loop';
  since: string;
}

/** An open breaker: the jobs behind it do not start until `resume`. */
export interface BreakerRecord {
  /** The job's name, or the group it shares with others. */
  name: string;
  reason: 'outputs' | 'spend';
  opened_at: string;
  /** What crossed the limit, for the incident and status (e.g. "23 outputs in 10m, limit 20"). */
  detail: string | null;
}

export interface RunQuery {
  job?: string;
  statuses?: readonly RunStatus[];
  node?: string;
  /** At most this many (default 100). Results are newest first (by id: ULIDs sort by creation). */
  limit?: number;
  /**
   * Only queued runs due at or before this time (combined with the other filters), in the order they are due
   * (scheduled_at ascending, then id) instead of newest first.
   */
  dueBefore?: string;
}

/** A node of a cluster as `status` shows it (DESIGN.md: `nodes: [{ name, leader, last_seen_at, running }]`). */
export interface ClusterNode {
  name: string;
  leader: boolean;
  /** Its last heartbeat, on the database's clock. */
  last_seen_at: string;
  /** Runs it supervises now. */
  running: number;
}

/** One job's newest runs and its running count (Store.jobRunSummaries). */
export interface JobRunSummary {
  job: string;
  /** Newest first, at most the limit asked for. */
  recent: Run[];
  running: number;
}

export interface PruneResult {
  deleted: number;
}

export interface Store extends CoordinationStore, TaskStore {
  /**
   * Applies pending migrations. Idempotent; safe when two processes open the same store at once. Call it once after
   * opening. A read-only store only checks that the schema is current ('schema_outdated' otherwise). Either kind
   * throws 'schema_too_new' for a database migrated by a newer nightshift.
   */
  migrate(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;

  /**
   * Inserts a run that is `running` now, taking `lock` in the same transaction. When the lock is held (and not being
   * replaced), nothing is written and the current holder is returned. The lock is free when it has no holder, its
   * `expires_at` is before `startedAt`, or `lock.replaceToken` names its holder. The lock row records the run's id as
   * its `run_id`, whatever `lock.holder.run_id` says.
   */
  startRun(run: NewRun, lock: LockRequest, startedAt: string): Promise<StartRunResult>;
  /**
   * Moves a `queued` run to `running` under `lock`, as `startRun` does for a new one. Throws StoreError 'not_queued'
   * (writing nothing) when the run is no longer queued — another process started or cancelled it — whether or not
   * the lock is free; 'not_found' when there is no such run. The run's `node` becomes the lock holder's: in a cluster
   * the node that starts a queued run is often not the one that queued it.
   */
  startQueuedRun(runId: string, lock: LockRequest, startedAt: string): Promise<StartRunResult>;
  /**
   * Inserts a run in a final state (e.g. skipped) or `queued` (a pending start or retry). A run inserted in a final
   * state never started: `started_at` and `duration_ms` are null, `ended_at` is `state.ended_at`.
   */
  insertRun(run: NewRun, state: { status: 'queued' } | RunEnd): Promise<Run>;
  /** Throws 'not_running' unless the run is running. */
  setRunPid(runId: string, pid: number): Promise<void>;
  /**
   * Ends a running run, releases every lock it holds and, when given, queues its retry — all in one transaction, so
   * a crash never leaves a finished run holding its lock or a failed run without its planned retry.
   * `duration_ms` = ended_at − started_at. Throws StoreError 'not_running' (writing nothing) unless the run is
   * running, so nothing finishes twice.
   */
  finishRun(runId: string, end: RunEnd, retry?: NewRun | null): Promise<Run>;
  /**
   * Ends a queued run that will not start (its job was removed or paused …) with `end`; false when no longer queued.
   * Like a final-state `insertRun`, the run keeps `started_at` and `duration_ms` null.
   */
  cancelQueuedRun(runId: string, end: RunEnd): Promise<boolean>;
  getRun(id: string): Promise<Run | null>;
  listRuns(query: RunQuery): Promise<Run[]>;
  /**
   * For each of `jobs` (in their order): its `limit` newest runs, newest first (what `listRuns({ job, limit })`
   * returns), and how many of its runs are running now (all of them, not only among the newest). One round trip for
   * every job, for status and the dashboard; a job without runs gets an empty list and 0.
   */
  jobRunSummaries(jobs: readonly string[], limit: number): Promise<JobRunSummary[]>;
  /**
   * The live nodes of a cluster (PostgreSQL: the `nodes` table, src/cluster/), for `status` read without a daemon.
   * SQLite has one node, the daemon itself, and no table: always empty.
   */
  listNodes(): Promise<ClusterNode[]>;
  /**
   * Failed attempts (failed, timed_out, killed) of `job` that ended at or after `since`, for retry budgets. A run
   * killed with reason `shutdown` is not counted: like a lost run, it was not the job's failure.
   */
  countFailures(job: string, since: string): Promise<number>;
  /** Number of runs in a chain that ended `lost` or `killed` with reason `shutdown` (retries not charged to the job). */
  countLostInChain(chainId: string): Promise<number>;

  getJobState(job: string): Promise<JobState>;
  listJobStates(): Promise<JobState[]>;
  setPaused(job: string, paused: boolean): Promise<void>;
  /** Sets or clears (null) the job's hold. */
  setJobHold(job: string, hold: JobHold | null): Promise<void>;
  /** Records when a running run asks to be retried (Retry-After); false when it is not running. */
  setRunRetryAfter(runId: string, at: string): Promise<boolean>;
  /** Appends outputs and spend a run (or a job, run_id null) reported. */
  recordOutput(entry: { job: string; run_id: string | null; outputs: number; spend: number; at: string }): Promise<void>;
  /** Outputs and spend of these jobs reported at or after `since`. */
  sumOutputs(jobs: readonly string[], since: string): Promise<{ outputs: number; spend: number }>;
  /** Opens a breaker; false (nothing written) when it is already open. */
  openBreaker(breaker: BreakerRecord): Promise<boolean>;
  /**
   * Closes a breaker and records `at` as its reset: from then on it counts only what is reported at or after `at`
   * (see breakerResetAt). False, and nothing written, when it was not open.
   */
  closeBreaker(name: string, at: string): Promise<boolean>;
  /** When the breaker was last closed (reset) by closeBreaker; null when it never was. */
  breakerResetAt(name: string): Promise<string | null>;
  listOpenBreakers(): Promise<BreakerRecord[]>;
  /** Deletes outputs reported before `olderThan`. */
  pruneOutputs(olderThan: string): Promise<PruneResult>;
  setLastFire(job: string, at: string): Promise<void>;

  /** Takes a lock not tied to a run start (e.g. the daemon's own instance lock, or `nightshift lock`). */
  acquireLock(lock: LockRequest, now: string): Promise<{ acquired: true } | { acquired: false; heldBy: LockRecord }>;
  getLock(name: string): Promise<LockRecord | null>;
  /** Every lock currently recorded (expired ones included, until taken over), by name: for reconciliation and doctor. */
  listLocks(): Promise<LockRecord[]>;
  /** Releases `name` only if `token` still holds it. */
  releaseLock(name: string, token: string): Promise<boolean>;
  /**
   * Sets the expiry of `token`'s holding of `name` to `now + ttl_ms`; false (nothing written) when `token` no longer
   * holds it. A holding past its expiry that nobody has taken over can still be renewed.
   */
  renewLock(name: string, token: string, ttl_ms: number, now: string): Promise<boolean>;

  /**
   * Keeps the newest `keepPerJob` finished runs of each job and none that ended before `olderThan`. Queued and
   * running runs are never deleted.
   */
  pruneRuns(opts: { keepPerJob: number; olderThan: string }): Promise<PruneResult>;

  /** Records a heartbeat of a running run; false (nothing written) when the run is not running. */
  recordHeartbeat(runId: string, at: string): Promise<boolean>;

  // ---- checks and pings ----
  /**
   * Makes the stored job and config checks match `wanted`: adds the missing ones (with their fixed `uuid`, else
   * `newUuid()`), sets a fixed uuid that changed, and deletes job and config checks no longer wanted (with their
   * pings). Checks created by pings are left alone. A generated uuid is kept across calls, so a ping URL stays valid
   * across restarts and reloads. Throws 'conflict' when a fixed uuid belongs to another check. Returns every check.
   */
  syncChecks(wanted: readonly CheckSpec[], now: string, newUuid: () => string): Promise<CheckRecord[]>;
  listChecks(): Promise<CheckRecord[]>;
  getCheck(name: string): Promise<CheckRecord | null>;
  findCheckByUuid(uuid: string): Promise<CheckRecord | null>;
  /** A check made by a `?create=1` ping; returns the existing one when `name` is taken. */
  createCheck(input: { name: string; uuid: string; every_ms: number; grace_ms: number; at: string }): Promise<CheckRecord>;
  /**
   * Records a ping and moves the check in one transaction (start → open start; success/exit 0 → up; fail/exit ≠ 0 →
   * down; log → nothing but the ping; any but log un-pauses). An end ping is paired with the open start by `rid`
   * (without a rid, with the last start) for its `duration_ms`. Trims the check's pings to `keep`. Throws 'not_found'
   * for an unknown check. Returns the check before and after, so the caller sees the transition.
   */
  recordPing(ping: NewPing): Promise<{ before: CheckRecord; after: CheckRecord; ping: Ping }>;
  /**
   * `recordPing` for many pings in one transaction (the ping API batches what arrives together: one commit instead
   * of one per ping). Each result is in the order given; null for a ping to an unknown check, which writes nothing.
   */
  recordPings(pings: readonly NewPing[]): Promise<Array<{ before: CheckRecord; after: CheckRecord; ping: Ping } | null>>;
  /** Newest first. */
  listPings(check: string, limit: number): Promise<Ping[]>;
  /** Marks an `up` or `new` check down (it went past due); null when it was not in one of those states. */
  markCheckDown(name: string, since: string): Promise<CheckRecord | null>;
  /**
   * Pauses or resumes a check. A resumed check is `up` if it ever succeeded, else `new`, and counts its next due
   * time from `at` (`resumed_at`). Throws 'not_found' for an unknown check.
   */
  setCheckPaused(name: string, paused: boolean, at: string): Promise<CheckRecord>;

  // ---- incidents and the outbox ----
  /**
   * Opens an incident for (kind, subject) and queues its notifications, in one transaction. When one is already open
   * nothing is written ('already_open'). When the latest one for (kind, subject) is resolved but its recovery has not
   * been sent yet (flap damping holds recoveries back), that one is reopened instead: its pending recoveries are
   * cancelled, `detail.flaps` counts up, and nothing new is queued ('reopened').
   */
  openIncident(input: NewIncident): Promise<{ incident: Incident; outcome: 'opened' | 'already_open' | 'reopened' }>;
  /** Replaces the summary and detail of an open incident (e.g. a longer stderr tail); false when it is not open. */
  updateIncident(id: string, summary: string, detail: IncidentDetail): Promise<boolean>;
  /**
   * Resolves the open incident for (kind, subject), queuing its recovery notifications due at `notify_at`; null when
   * none is open.
   */
  resolveIncident(input: { kind: IncidentKind; subject: string; at: string; notify: readonly NewNotification[]; notify_at: string }): Promise<Incident | null>;
  /** Queues a renotification of an open incident and moves its `last_notified_at`; false when it is not open. */
  renotifyIncident(id: string, at: string, notify: readonly NewNotification[]): Promise<boolean>;
  getIncident(id: string): Promise<Incident | null>;
  /** Newest first. */
  listIncidents(query: { open?: boolean; subject?: string; limit?: number }): Promise<Incident[]>;
  /** Pending entries due at or before `now`, in due order. */
  listDueNotifications(now: string, limit: number): Promise<OutboxEntry[]>;
  /** When the next pending entry is due; null when none is pending. */
  nextNotificationDue(): Promise<string | null>;
  /** Every notification of one incident, oldest first: what went to which channel, when, and how it went. */
  listNotifications(incidentId: string): Promise<OutboxEntry[]>;
  markNotificationSent(id: string, at: string): Promise<boolean>;
  /** A failed attempt: the entry is retried at `retry_at`, or given up (`failed`) when `retry_at` is null. */
  markNotificationFailed(id: string, error: string, retry_at: string | null): Promise<void>;
  /** Per channel: what is waiting and how the deliveries are going, for /healthz, status and channel_failing. */
  outboxSummary(): Promise<ChannelBacklog[]>;
  /** Deletes resolved incidents (and their notifications) resolved before `olderThan`. */
  pruneIncidents(olderThan: string): Promise<PruneResult>;
}
