/**
 * The boundary between database rows and the store's records: times are INTEGER epoch ms inside, ISO-8601 UTC
 * strings outside; booleans are 0/1 inside.
 */
import { StoreError } from '../errors.ts';
import { holdFromRow } from './containment.ts';
import type { JobState, LockRecord, Run, RunReason, RunStatus, RunTrigger } from '../types.ts';

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

export interface JobStateRow {
  job: string;
  paused: number;
  last_fire_at: number | null;
  hold: string | null;
  hold_reason: string | null;
  hold_since: number | null;
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

export function jobStateFromRow(row: JobStateRow): JobState {
  return { job: row.job, paused: row.paused !== 0, last_fire_at: toIsoOrNull(row.last_fire_at), hold: holdFromRow(row) };
}
