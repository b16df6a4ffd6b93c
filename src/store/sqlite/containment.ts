/** Job holds, reported outputs and breakers (migration 3; a breaker's reset, migration 7). */
import type { BreakerRecord, JobHold } from '../types.ts';
import type { StatementCache } from './connection.ts';
import { toIso, toIsoOrNull, toMs } from './rows.ts';

const UPSERT_HOLD = `INSERT INTO job_state (job, hold, hold_reason, hold_since) VALUES (?, ?, ?, ?)
  ON CONFLICT (job) DO UPDATE SET hold = excluded.hold, hold_reason = excluded.hold_reason, hold_since = excluded.hold_since`;
const SET_RETRY_AFTER = `UPDATE runs SET retry_after_at = ? WHERE id = ? AND status = 'running'`;
const INSERT_OUTPUT = `INSERT INTO outputs (job, run_id, outputs, spend, at) VALUES (?, ?, ?, ?, ?)`;
const OPEN_BREAKER = `INSERT INTO breakers (name, open, reason, opened_at, detail) VALUES (?, 1, ?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET open = 1, reason = excluded.reason, opened_at = excluded.opened_at,
  detail = excluded.detail WHERE breakers.open = 0`;
const CLOSE_BREAKER = `UPDATE breakers SET open = 0, reset_at = ? WHERE name = ? AND open = 1`;
const BREAKER_RESET_AT = `SELECT reset_at FROM breakers WHERE name = ?`;
const OPEN_BREAKERS = `SELECT name, reason, opened_at, detail FROM breakers WHERE open = 1 ORDER BY name`;
const PRUNE_OUTPUTS = `DELETE FROM outputs WHERE at < ?`;

export function setHoldRow(sql: StatementCache, job: string, hold: JobHold | null): void {
  sql.get<[string, string | null, string | null, number | null]>(UPSERT_HOLD).run(
    job,
    hold?.state ?? null,
    hold?.reason ?? null,
    hold === null ? null : toMs(hold.since, 'since'),
  );
}


export function setRetryAfterRow(sql: StatementCache, runId: string, at: string): boolean {
  return sql.get<[number, string]>(SET_RETRY_AFTER).run(toMs(at, 'at'), runId).changes === 1;
}

export function insertOutputRow(sql: StatementCache, e: { job: string; run_id: string | null; outputs: number; spend: number; at: string }): void {
  sql.get<[string, string | null, number, number, number]>(INSERT_OUTPUT).run(e.job, e.run_id, e.outputs, e.spend, toMs(e.at, 'at'));
}

export function sumOutputRows(sql: StatementCache, jobs: readonly string[], since: string): { outputs: number; spend: number } {
  if (jobs.length === 0) return { outputs: 0, spend: 0 };
  const text = `SELECT COALESCE(SUM(outputs), 0) AS outputs, COALESCE(SUM(spend), 0) AS spend FROM outputs
    WHERE job IN (${jobs.map(() => '?').join(', ')}) AND at >= ?`;
  const row = sql.get<(string | number)[], { outputs: number; spend: number }>(text).get(...jobs, toMs(since, 'since'));
  return { outputs: row?.outputs ?? 0, spend: row?.spend ?? 0 };
}

export function openBreakerRow(sql: StatementCache, b: BreakerRecord): boolean {
  return sql.get<[string, string, number, string | null]>(OPEN_BREAKER).run(b.name, b.reason, toMs(b.opened_at, 'opened_at'), b.detail).changes === 1;
}

export function closeBreakerRow(sql: StatementCache, name: string, at: string): boolean {
  return sql.get<[number, string]>(CLOSE_BREAKER).run(toMs(at, 'at'), name).changes === 1;
}

export function breakerResetAtRow(sql: StatementCache, name: string): string | null {
  const row = sql.get<[string], { reset_at: number | null }>(BREAKER_RESET_AT).get(name);
  return toIsoOrNull(row?.reset_at ?? null);
}

export function openBreakerRows(sql: StatementCache): BreakerRecord[] {
  type Row = { name: string; reason: string; opened_at: number; detail: string | null };
  return sql.get<[], Row>(OPEN_BREAKERS).all().map((r) => ({ name: r.name, reason: r.reason as BreakerRecord['reason'], opened_at: toIso(r.opened_at), detail: r.detail }));
}

export function pruneOutputRows(sql: StatementCache, olderThan: string): number {
  return sql.get<[number]>(PRUNE_OUTPUTS).run(toMs(olderThan, 'olderThan')).changes;
}
