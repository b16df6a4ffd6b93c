/**
 * Shared state, its audit log, and the run facts upstream freshness reads (migration 5). Synchronous steps; the store
 * runs each write inside one IMMEDIATE transaction (store-coordination.ts), which is what serialises writers.
 */
import type { JobActivity, StateEntry, StateLogEntry, StateWrite, StateWriteResult } from '../coordination-types.ts';
import type { StatementCache } from './connection.ts';
import { STATE_COLUMNS, checkLimit, checkWrite, entryOf, logEntryOf, type StateLogRow, type StateRow } from '../state-rows.ts';
import { toIsoOrNull, toMs } from './rows.ts';

const SELECT_STATE = `SELECT ${STATE_COLUMNS} FROM state WHERE key = ?`;
const SELECT_VERSION = `SELECT version FROM state WHERE key = ?`;
const LIST_KEYS = `SELECT key, version, updated_at, updated_by_job, updated_by_run FROM state ORDER BY key LIMIT ?`;
const UPSERT_STATE = `INSERT INTO state (${STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at,
  updated_by_job = excluded.updated_by_job, updated_by_run = excluded.updated_by_run`;
const INSERT_LOG = `INSERT INTO state_log (key, version, value, size_bytes, job, run_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)`;
const TRIM_LOG = `DELETE FROM state_log WHERE key = ? AND version <= ?`;
const SELECT_LOG = `SELECT key, version, value, size_bytes, job, run_id, at FROM state_log WHERE key = ?
  ORDER BY version DESC LIMIT ?`;
// One pass over the job's runs (runs_job_id; at most history.keep_runs of them).
const JOB_ACTIVITY = `SELECT
  MAX(CASE WHEN status = 'succeeded' THEN ended_at END) AS last_success,
  MAX(CASE WHEN status = 'running' THEN COALESCE(heartbeat_at, started_at) END) AS running_alive,
  COUNT(*) AS n
  FROM runs WHERE job = ?`;
const SET_QUEUED_DEGRADED = `UPDATE runs SET degraded = ? WHERE id = ? AND status = 'queued'`;

export function getStateRow(sql: StatementCache, key: string): StateEntry | null {
  const row = sql.get<[string], StateRow>(SELECT_STATE).get(key);
  return row === undefined ? null : { ...entryOf(row), value: JSON.parse(row.value) as unknown };
}

/** The compare-and-set, the write, its log entry and the trim; call inside one write transaction. */
export function writeStateRows(sql: StatementCache, write: StateWrite): StateWriteResult {
  checkWrite(write);
  const atMs = toMs(write.at, 'at');
  const current = sql.get<[string], { version: number }>(SELECT_VERSION).get(write.key)?.version ?? 0;
  if (write.expect_version != null && write.expect_version !== current) return { written: false, current_version: current };
  const version = current + 1;
  const { key, value_json: json, by } = write;
  sql.get<[string, string, number, number, string | null, string | null]>(UPSERT_STATE).run(key, json, version, atMs, by.job, by.run_id);
  const size = Buffer.byteLength(json);
  const logged = size <= write.log_value_max_bytes ? json : null;
  sql.get<[string, number, string | null, number, string | null, string | null, number]>(INSERT_LOG).run(key, version, logged, size, by.job, by.run_id, atMs);
  sql.get<[string, number]>(TRIM_LOG).run(key, version - write.log_keep);
  return { written: true, version };
}

export function listStateLogRows(sql: StatementCache, key: string, limit: number): StateLogEntry[] {
  checkLimit(limit);
  return sql.get<[string, number], StateLogRow>(SELECT_LOG).all(key, limit).map(logEntryOf);
}

export function listStateKeyRows(sql: StatementCache, limit: number): Array<Omit<StateEntry, 'value'>> {
  checkLimit(limit);
  return sql.get<[number], Omit<StateRow, 'value'>>(LIST_KEYS).all(limit).map(entryOf);
}

export function jobActivityRow(sql: StatementCache, job: string): JobActivity {
  const row = sql.get<[string], { last_success: number | null; running_alive: number | null; n: number }>(JOB_ACTIVITY).get(job);
  return {
    last_success_at: toIsoOrNull(row?.last_success ?? null),
    running_alive_at: toIsoOrNull(row?.running_alive ?? null),
    known: (row?.n ?? 0) > 0,
  };
}

export function setQueuedDegradedRow(sql: StatementCache, runId: string, degraded: string | null): boolean {
  return sql.get<[string | null, string]>(SET_QUEUED_DEGRADED).run(degraded, runId).changes === 1;
}

