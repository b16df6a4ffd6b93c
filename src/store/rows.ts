/**
 * The boundary between rows and the store's records, shared by both dialects: times are epoch ms inside (SQLite
 * INTEGER, PostgreSQL BIGINT read as numbers), ISO-8601 UTC strings outside. What differs (booleans: 0/1 in SQLite)
 * stays in each dialect's rows.ts. Also here: the rules for runs and locks that need no SQL (a new run's row, a
 * run's end, a lock's expiry), so both dialects check their arguments alike. Checks and incidents have their own
 * modules beside this one (check-rows.ts, incident-rows.ts).
 */
import { StoreError } from './errors.ts';
import {
  FINISHED_STATUSES,
  type JobHold,
  type LockRecord,
  type LockRequest,
  type NewRun,
  type Run,
  type RunEnd,
  type RunReason,
  type RunStatus,
  type RunTrigger,
} from './types.ts';

export interface RunRow {
  id: string;
  job: string;
  attempt: number;
  status: string;
  reason: string | null;
  trigger: string;
  exit_code: number | null;
  signal: string | null;
  scheduled_at: number;
  started_at: number | null;
  ended_at: number | null;
  duration_ms: number | null;
  pid: number | null;
  degraded: string | null;
  orphans_killed: number;
  node: string;
  chain_id: string;
  error: string | null;
  heartbeat_at: number | null;
  retry_after_at: number | null;
}

export interface LockRow {
  name: string;
  token: string;
  run_id: string | null;
  pid: number;
  pid_start: number | null;
  node: string;
  acquired_at: number;
  expires_at: number | null;
}

/** Parses a caller's ISO time; `field` names the argument in the error. */
export function toMs(iso: string, field: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new StoreError('invalid_argument', `${field} is not an ISO-8601 time: ${JSON.stringify(iso)}`);
  return ms;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toIsoOrNull(ms: number | null): string | null {
  return ms === null ? null : toIso(ms);
}

export function runFromRow(row: RunRow): Run {
  return {
    id: row.id,
    job: row.job,
    attempt: row.attempt,
    // The three casts are safe because rows are only ever written through this typed store, the status column is
    // CHECK-constrained, and the schema-version check refuses a database written by a newer binary.
    status: row.status as RunStatus,
    reason: row.reason as RunReason | null,
    trigger: row.trigger as RunTrigger,
    exit_code: row.exit_code,
    signal: row.signal,
    scheduled_at: toIso(row.scheduled_at),
    started_at: toIsoOrNull(row.started_at),
    ended_at: toIsoOrNull(row.ended_at),
    duration_ms: row.duration_ms,
    pid: row.pid,
    degraded: row.degraded,
    orphans_killed: row.orphans_killed,
    node: row.node,
    chain_id: row.chain_id,
    error: row.error,
    heartbeat_at: toIsoOrNull(row.heartbeat_at),
    retry_after_at: toIsoOrNull(row.retry_after_at),
  };
}

/** A new run's state: queued, running since `startedMs`, or recorded directly in a final state. */
export type NewRunState = { status: 'queued' } | { status: 'running'; startedMs: number } | RunEnd;

/**
 * A full row for a new run in `state`. A run recorded directly in a final state never started: its `started_at` and
 * `duration_ms` are null and `ended_at` is the caller's `ended_at`, when the decision was made.
 */
export function newRunRow(run: NewRun, state: NewRunState): RunRow {
  const final = state.status !== 'queued' && state.status !== 'running' ? checkEnd(state) : null;
  return {
    id: run.id,
    job: run.job,
    attempt: run.attempt,
    status: state.status,
    reason: final?.reason ?? null,
    trigger: run.trigger,
    exit_code: final?.exit_code ?? null,
    signal: final?.signal ?? null,
    scheduled_at: toMs(run.scheduled_at, 'scheduled_at'),
    started_at: state.status === 'running' ? state.startedMs : null,
    ended_at: final === null ? null : toMs(final.ended_at, 'ended_at'),
    duration_ms: null,
    pid: null,
    degraded: run.degraded ?? null,
    orphans_killed: final?.orphans_killed ?? 0,
    node: run.node,
    chain_id: run.chain_id,
    error: final?.error ?? null,
    heartbeat_at: null,
    retry_after_at: null,
  };
}

/** `end.ended_at` in ms, once `end` is known to be a final state. */
/** The error for a fire record that would not move its job's fire cursor forward (StoreErrorCode 'fire_taken'). */
export function fireTaken(run: NewRun): StoreError {
  return new StoreError('fire_taken', `the ${run.scheduled_at} fire of ${run.job} was already recorded (by this node before, or by another node)`);
}

export function endedAtMs(end: RunEnd): number {
  checkEnd(end);
  return toMs(end.ended_at, 'ended_at');
}

/**
 * What finishing the run `id` writes, given its current status and start: `ended_at`, and `duration_ms` as
 * `ended_at - started_at` floored at 0 (a wall clock stepped back must not give a negative). 'not_running' unless it
 * is running.
 */
export function finishedTimes(
  id: string,
  current: { status: string; started_at: number | null },
  end: RunEnd,
): { endedMs: number; durationMs: number } {
  if (current.status !== 'running' || current.started_at === null) {
    throw new StoreError('not_running', `run ${id} cannot be finished: it is ${current.status}, not running`);
  }
  const endedMs = endedAtMs(end);
  return { endedMs, durationMs: Math.max(0, endedMs - current.started_at) };
}

const DEFAULT_RUN_LIST_LIMIT = 100;

/** `listRuns`' limit: DEFAULT_RUN_LIST_LIMIT when not given, else a non-negative integer. */
export function runListLimit(limit: number | undefined): number {
  const checked = limit ?? DEFAULT_RUN_LIST_LIMIT;
  if (!Number.isInteger(checked) || checked < 0) {
    throw new StoreError('invalid_argument', `limit must be a non-negative integer, got ${checked}`);
  }
  return checked;
}

export function checkKeepPerJob(keepPerJob: number): void {
  if (!Number.isInteger(keepPerJob) || keepPerJob < 0) {
    throw new StoreError('invalid_argument', `keepPerJob must be a non-negative integer, got ${keepPerJob}`);
  }
}

/** Guards the JavaScript callers TypeScript cannot: a run may only end in a final state. */
function checkEnd(end: RunEnd): RunEnd {
  if (!FINISHED_STATUSES.includes(end.status)) {
    throw new StoreError('invalid_argument', `a run cannot end as ${JSON.stringify(end.status)}`);
  }
  return end;
}

export function lockFromRow(row: LockRow): LockRecord {
  return {
    name: row.name,
    token: row.token,
    run_id: row.run_id,
    pid: row.pid,
    pid_start: row.pid_start,
    node: row.node,
    acquired_at: toIso(row.acquired_at),
    expires_at: toIsoOrNull(row.expires_at),
  };
}

/** When a lock taken at `nowMs` expires: null for one held until released. */
export function lockExpiry(request: LockRequest, nowMs: number): number | null {
  if (request.ttl_ms == null) return null;
  checkTtl(request.ttl_ms);
  return nowMs + request.ttl_ms;
}

/** When a lock renewed at `now` for `ttlMs` expires. */
export function renewedExpiry(ttlMs: number, now: string): number {
  checkTtl(ttlMs);
  return toMs(now, 'now') + ttlMs;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new StoreError('invalid_argument', `lock ttl_ms must be a non-negative number of milliseconds, got ${ttlMs}`);
  }
}

export function holdFromRow(row: { hold: string | null; hold_reason: string | null; hold_since: number | null }): JobHold | null {
  if (row.hold === null || row.hold_reason === null || row.hold_since === null) return null;
  // Written only through setJobHold; `hold` is CHECK-constrained.
  return { state: row.hold as JobHold['state'], reason: row.hold_reason as JobHold['reason'], since: toIso(row.hold_since) };
}
