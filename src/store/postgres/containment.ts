/**
 * Reported outputs and spend, breakers, and a run's Retry-After (migration 3; a breaker's reset, migration 7); job
 * holds are in job-state.ts.
 */
import type { BreakerRecord } from '../types.ts';
import type { Db } from './connection.ts';
import { pgText, toIso, toIsoOrNull, toMs } from './rows.ts';

const SET_RETRY_AFTER = `UPDATE runs SET retry_after_at = $1 WHERE id = $2 AND status = 'running'`;
const INSERT_OUTPUT = `INSERT INTO outputs (job, run_id, outputs, spend, at) VALUES ($1, $2, $3, $4, $5)`;
const SUM_OUTPUTS = `SELECT COALESCE(SUM(outputs), 0) AS outputs, COALESCE(SUM(spend), 0) AS spend FROM outputs
  WHERE job = ANY($1::text[]) AND at >= $2`;
const OPEN_BREAKER = `INSERT INTO breakers (name, open, reason, opened_at, detail) VALUES ($1, true, $2, $3, $4)
  ON CONFLICT (name) DO UPDATE SET open = true, reason = excluded.reason, opened_at = excluded.opened_at,
  detail = excluded.detail WHERE breakers.open = false`;
const CLOSE_BREAKER = `UPDATE breakers SET open = false, reset_at = $2 WHERE name = $1 AND open`;
const BREAKER_RESET_AT = `SELECT reset_at FROM breakers WHERE name = $1`;
const OPEN_BREAKERS = `SELECT name, reason, opened_at, detail FROM breakers WHERE open ORDER BY name`;
const PRUNE_OUTPUTS = `DELETE FROM outputs WHERE at < $1`;

export async function setRetryAfterRow(db: Db, runId: string, at: string): Promise<boolean> {
  return (await db.query(SET_RETRY_AFTER, [toMs(at, 'at'), runId])).rowCount === 1;
}

export async function insertOutputRow(db: Db, e: { job: string; run_id: string | null; outputs: number; spend: number; at: string }): Promise<void> {
  await db.query(INSERT_OUTPUT, [e.job, e.run_id, e.outputs, e.spend, toMs(e.at, 'at')]);
}

export async function sumOutputRows(db: Db, jobs: readonly string[], since: string): Promise<{ outputs: number; spend: number }> {
  if (jobs.length === 0) return { outputs: 0, spend: 0 };
  const row = (await db.query<{ outputs: number; spend: number }>(SUM_OUTPUTS, [[...jobs], toMs(since, 'since')])).rows[0];
  return { outputs: row?.outputs ?? 0, spend: row?.spend ?? 0 };
}

export async function openBreakerRow(db: Db, b: BreakerRecord): Promise<boolean> {
  return (await db.query(OPEN_BREAKER, [b.name, b.reason, toMs(b.opened_at, 'opened_at'), pgText(b.detail)])).rowCount === 1;
}

export async function closeBreakerRow(db: Db, name: string, at: string): Promise<boolean> {
  return (await db.query(CLOSE_BREAKER, [name, toMs(at, 'at')])).rowCount === 1;
}

export async function breakerResetAtRow(db: Db, name: string): Promise<string | null> {
  const row = (await db.query<{ reset_at: number | null }>(BREAKER_RESET_AT, [name])).rows[0];
  return toIsoOrNull(row?.reset_at ?? null);
}

export async function openBreakerRows(db: Db): Promise<BreakerRecord[]> {
  type Row = { name: string; reason: string; opened_at: number; detail: string | null };
  const { rows } = await db.query<Row>(OPEN_BREAKERS);
  // `reason` is written only through openBreaker, typed.
  return rows.map((r) => ({ name: r.name, reason: r.reason as BreakerRecord['reason'], opened_at: toIso(r.opened_at), detail: r.detail }));
}

export async function pruneOutputRows(db: Db, olderThan: string): Promise<number> {
  return (await db.query(PRUNE_OUTPUTS, [toMs(olderThan, 'olderThan')])).rowCount ?? 0;
}
