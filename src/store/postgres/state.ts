/**
 * Shared state, its audit log, and the run facts upstream freshness reads (migration 5), on PostgreSQL. The rules
 * are the SQLite dialect's (src/store/sqlite/state.ts). A write first takes a transaction advisory lock on its key, so
 * writers of one key — on any node — are serialised, including the first two writers of a key that does not exist
 * yet (which `FOR UPDATE` could not serialise: there is no row to lock); a compare-and-set cannot lose an update.
 */
import type { JobActivity, StateEntry, StateLogEntry, StateWrite, StateWriteResult } from '../coordination-types.ts';
import { ADVISORY_NAMESPACE } from './advisory.ts';
import type { Db } from './connection.ts';
import { STATE_COLUMNS, checkLimit, checkWrite, entryOf, logEntryOf, type StateLogRow, type StateRow } from '../state-rows.ts';
import { pgText, toIsoOrNull, toMs } from './rows.ts';

const LOCK_KEY = `SELECT pg_advisory_xact_lock(${ADVISORY_NAMESPACE.state}, hashtext($1::text))`;
const SELECT_STATE = `SELECT ${STATE_COLUMNS} FROM state WHERE key = $1`;
const SELECT_VERSION = `SELECT version FROM state WHERE key = $1`;
const LIST_KEYS = `SELECT key, version, updated_at, updated_by_job, updated_by_run FROM state ORDER BY key LIMIT $1`;
const UPSERT_STATE = `INSERT INTO state (${STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at,
  updated_by_job = excluded.updated_by_job, updated_by_run = excluded.updated_by_run`;
const INSERT_LOG = `INSERT INTO state_log (key, version, value, size_bytes, job, run_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
const TRIM_LOG = `DELETE FROM state_log WHERE key = $1 AND version <= $2`;
const SELECT_LOG = `SELECT key, version, value, size_bytes, job, run_id, at FROM state_log WHERE key = $1
  ORDER BY version DESC LIMIT $2`;
const JOB_ACTIVITY = `SELECT
  MAX(CASE WHEN status = 'succeeded' THEN ended_at END) AS last_success,
  MAX(CASE WHEN status = 'running' THEN COALESCE(heartbeat_at, started_at) END) AS running_alive,
  COUNT(*) AS n
  FROM runs WHERE job = $1`;
const SET_QUEUED_DEGRADED = `UPDATE runs SET degraded = $1 WHERE id = $2 AND status = 'queued'`;

export async function getStateRow(db: Db, key: string): Promise<StateEntry | null> {
  const row = (await db.query<StateRow>(SELECT_STATE, [key])).rows[0];
  return row === undefined ? null : { ...entryOf(row), value: JSON.parse(row.value) as unknown };
}

/** The compare-and-set, the write, its log entry and the trim; call inside one transaction. */
export async function writeStateRows(db: Db, write: StateWrite): Promise<StateWriteResult> {
  checkWrite(write);
  const atMs = toMs(write.at, 'at');
  await db.query(LOCK_KEY, [write.key]);
  const current = (await db.query<{ version: number }>(SELECT_VERSION, [write.key])).rows[0]?.version ?? 0;
  if (write.expect_version != null && write.expect_version !== current) return { written: false, current_version: current };
  const version = current + 1;
  const { key, value_json: json, by } = write;
  await db.query(UPSERT_STATE, [key, json, version, atMs, by.job, by.run_id]);
  const size = Buffer.byteLength(json);
  const logged = size <= write.log_value_max_bytes ? json : null;
  await db.query(INSERT_LOG, [key, version, logged, size, by.job, by.run_id, atMs]);
  await db.query(TRIM_LOG, [key, version - write.log_keep]);
  return { written: true, version };
}

export async function listStateLogRows(db: Db, key: string, limit: number): Promise<StateLogEntry[]> {
  checkLimit(limit);
  return (await db.query<StateLogRow>(SELECT_LOG, [key, limit])).rows.map(logEntryOf);
}

export async function listStateKeyRows(db: Db, limit: number): Promise<Array<Omit<StateEntry, 'value'>>> {
  checkLimit(limit);
  return (await db.query<Omit<StateRow, 'value'>>(LIST_KEYS, [limit])).rows.map(entryOf);
}

export async function jobActivityRow(db: Db, job: string): Promise<JobActivity> {
  type Row = { last_success: number | null; running_alive: number | null; n: number };
  const row = (await db.query<Row>(JOB_ACTIVITY, [job])).rows[0];
  return {
    last_success_at: toIsoOrNull(row?.last_success ?? null),
    running_alive_at: toIsoOrNull(row?.running_alive ?? null),
    known: (row?.n ?? 0) > 0,
  };
}

export async function setQueuedDegradedRow(db: Db, runId: string, degraded: string | null): Promise<boolean> {
  return (await db.query(SET_QUEUED_DEGRADED, [pgText(degraded), runId])).rowCount === 1;
}

