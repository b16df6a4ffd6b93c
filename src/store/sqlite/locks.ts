/**
 * Lock rows. These functions are synchronous steps; the store runs each inside the transaction that needs it (taking a
 * lock and starting a run must commit together).
 *
 * A lock is free when it has no row, when its `expires_at` has passed (`expires_at < now`: it is held through its
 * expiry instant), or when the caller names the current holder's token in `replaceToken` (it proved that holder
 * dead). Locks are not re-entrant: a holder asking again for its own lock is told it is held (by itself).
 */
import type { LockRequest } from '../types.ts';
import { lockExpiry, renewedExpiry } from '../rows.ts';
import type { StatementCache } from './connection.ts';
import type { LockRow } from './rows.ts';

const LOCK_COLUMNS = `name, token, run_id, pid, pid_start, node, acquired_at, expires_at`;

const SELECT_LOCK = `SELECT ${LOCK_COLUMNS} FROM locks WHERE name = ?`;
const SELECT_LOCKS = `SELECT ${LOCK_COLUMNS} FROM locks ORDER BY name`;
const UPSERT_LOCK = `
INSERT INTO locks (${LOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
  token = excluded.token, run_id = excluded.run_id, pid = excluded.pid, pid_start = excluded.pid_start,
  node = excluded.node, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`;
const DELETE_LOCK = `DELETE FROM locks WHERE name = ? AND token = ?`;
const DELETE_RUN_LOCKS = `DELETE FROM locks WHERE run_id = ?`;
const RENEW_LOCK = `UPDATE locks SET expires_at = ? WHERE name = ? AND token = ?`;

export type TakeResult = { taken: true } | { taken: false; heldBy: LockRow };

export function getLockRow(sql: StatementCache, name: string): LockRow | undefined {
  return sql.get<[string], LockRow>(SELECT_LOCK).get(name);
}

export function listLockRows(sql: StatementCache): LockRow[] {
  return sql.get<[], LockRow>(SELECT_LOCKS).all();
}

/** Checks whether `request` may take its lock now, without writing. */
export function checkLockFree(sql: StatementCache, request: LockRequest, nowMs: number): TakeResult {
  const current = getLockRow(sql, request.name);
  if (current === undefined) return { taken: true };
  if (current.expires_at !== null && current.expires_at < nowMs) return { taken: true };
  if (request.replaceToken != null && request.replaceToken === current.token) return { taken: true };
  return { taken: false, heldBy: current };
}

/** Writes the holding; call only after `checkLockFree` said yes, in the same transaction. */
export function writeLock(sql: StatementCache, request: LockRequest, runId: string | null, nowMs: number): void {
  const { holder } = request;
  sql
    .get<[string, string, string | null, number, number | null, string, number, number | null]>(UPSERT_LOCK)
    .run(request.name, holder.token, runId, holder.pid, holder.pid_start, holder.node, nowMs, lockExpiry(request, nowMs));
}

export function releaseLockRow(sql: StatementCache, name: string, token: string): boolean {
  return sql.get<[string, string]>(DELETE_LOCK).run(name, token).changes > 0;
}

export function releaseRunLocks(sql: StatementCache, runId: string): number {
  return sql.get<[string]>(DELETE_RUN_LOCKS).run(runId).changes;
}

export function renewLockRow(sql: StatementCache, name: string, token: string, ttlMs: number, now: string): boolean {
  const expiresAt = renewedExpiry(ttlMs, now);
  return sql.get<[number, string, string]>(RENEW_LOCK).run(expiresAt, name, token).changes > 0;
}
