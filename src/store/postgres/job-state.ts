/**
 * job_state rows: created on first write, so a job nobody paused or fired has no row and reads as the defaults.
 * Writes are single upserts and need no explicit transaction.
 */
import type { JobHold, JobState } from '../types.ts';
import type { Db } from './connection.ts';
import { jobStateFromRow, toMs, type JobStateRow } from './rows.ts';

const JOB_STATE_COLUMNS = `job, paused, last_fire_at, hold, hold_reason, hold_since`;
const SELECT_JOB_STATE = `SELECT ${JOB_STATE_COLUMNS} FROM job_state WHERE job = $1`;
const SELECT_JOB_STATES = `SELECT ${JOB_STATE_COLUMNS} FROM job_state ORDER BY job`;
const UPSERT_PAUSED = `INSERT INTO job_state (job, paused) VALUES ($1, $2)
  ON CONFLICT (job) DO UPDATE SET paused = excluded.paused`;
const UPSERT_LAST_FIRE = `INSERT INTO job_state (job, last_fire_at) VALUES ($1, $2)
  ON CONFLICT (job) DO UPDATE SET last_fire_at = excluded.last_fire_at`;
// Row-locked by the upsert: of two nodes recording the same fire, the second waits, then finds the cursor there.
const ADVANCE_LAST_FIRE = `INSERT INTO job_state (job, last_fire_at) VALUES ($1, $2)
  ON CONFLICT (job) DO UPDATE SET last_fire_at = excluded.last_fire_at
  WHERE job_state.last_fire_at IS NULL OR job_state.last_fire_at < excluded.last_fire_at`;
const UPSERT_HOLD = `INSERT INTO job_state (job, hold, hold_reason, hold_since) VALUES ($1, $2, $3, $4)
  ON CONFLICT (job) DO UPDATE SET hold = excluded.hold, hold_reason = excluded.hold_reason, hold_since = excluded.hold_since`;

export async function getJobStateRow(db: Db, job: string): Promise<JobState> {
  const row = (await db.query<JobStateRow>(SELECT_JOB_STATE, [job])).rows[0];
  return row === undefined ? { job, paused: false, last_fire_at: null, hold: null } : jobStateFromRow(row);
}

export async function listJobStateRows(db: Db): Promise<JobState[]> {
  return (await db.query<JobStateRow>(SELECT_JOB_STATES)).rows.map(jobStateFromRow);
}

export async function setPausedRow(db: Db, job: string, paused: boolean): Promise<void> {
  await db.query(UPSERT_PAUSED, [job, paused]);
}

export async function setLastFireRow(db: Db, job: string, at: string): Promise<void> {
  await db.query(UPSERT_LAST_FIRE, [job, toMs(at, 'at')]);
}

/** Moves the fire cursor to `at` only forward; false (nothing written) when it is already there or beyond. */
export async function advanceLastFireRow(db: Db, job: string, at: string): Promise<boolean> {
  return ((await db.query(ADVANCE_LAST_FIRE, [job, toMs(at, 'at')])).rowCount ?? 0) > 0;
}

export async function setHoldRow(db: Db, job: string, hold: JobHold | null): Promise<void> {
  await db.query(UPSERT_HOLD, [job, hold?.state ?? null, hold?.reason ?? null, hold === null ? null : toMs(hold.since, 'since')]);
}
