/**
 * job_state rows: created on first write, so a job nobody paused or fired has no row and reads as the defaults.
 * Writes are single upserts (`ON CONFLICT … DO UPDATE`, the same statement PostgreSQL accepts) and need no
 * explicit transaction.
 */
import type { JobState } from '../types.ts';
import type { StatementCache } from './connection.ts';
import { jobStateFromRow, toMs, type JobStateRow } from './rows.ts';

const SELECT_JOB_STATE = `SELECT job, paused, last_fire_at, hold, hold_reason, hold_since FROM job_state WHERE job = ?`;
const SELECT_JOB_STATES = `SELECT job, paused, last_fire_at, hold, hold_reason, hold_since FROM job_state ORDER BY job`;
const UPSERT_PAUSED = `INSERT INTO job_state (job, paused) VALUES (?, ?)
  ON CONFLICT (job) DO UPDATE SET paused = excluded.paused`;
const UPSERT_LAST_FIRE = `INSERT INTO job_state (job, last_fire_at) VALUES (?, ?)
  ON CONFLICT (job) DO UPDATE SET last_fire_at = excluded.last_fire_at`;
const ADVANCE_LAST_FIRE = `INSERT INTO job_state (job, last_fire_at) VALUES (?, ?)
  ON CONFLICT (job) DO UPDATE SET last_fire_at = excluded.last_fire_at
  WHERE job_state.last_fire_at IS NULL OR job_state.last_fire_at < excluded.last_fire_at`;

export function getJobStateRow(sql: StatementCache, job: string): JobState {
  const row = sql.get<[string], JobStateRow>(SELECT_JOB_STATE).get(job);
  return row === undefined ? { job, paused: false, last_fire_at: null, hold: null } : jobStateFromRow(row);
}

export function listJobStateRows(sql: StatementCache): JobState[] {
  return sql.get<[], JobStateRow>(SELECT_JOB_STATES).all().map(jobStateFromRow);
}

export function setPausedRow(sql: StatementCache, job: string, paused: boolean): void {
  sql.get<[string, number]>(UPSERT_PAUSED).run(job, paused ? 1 : 0);
}

export function setLastFireRow(sql: StatementCache, job: string, at: string): void {
  sql.get<[string, number]>(UPSERT_LAST_FIRE).run(job, toMs(at, 'at'));
}

/** Moves the fire cursor to `at` only forward; false (nothing written) when it is already there or beyond. */
export function advanceLastFireRow(sql: StatementCache, job: string, at: string): boolean {
  return sql.get<[string, number]>(ADVANCE_LAST_FIRE).run(job, toMs(at, 'at')).changes > 0;
}
