/**
 * Lock rows on PostgreSQL. The rules are the SQLite dialect's (src/store/sqlite/locks.ts): a lock is free when it
 * has no row, when its `expires_at` has passed (`expires_at < now`), or when the caller names the holder's token in
 * `replaceToken`; locks are not re-entrant.
 *
 * Taking a lock is one conditional upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE <free>`): PostgreSQL locks the
 * existing row while it decides, so of two nodes racing for one lock exactly one gets a row back, and a renewal
 * running at the same moment is ordered before or after the takeover, never lost inside it. The loser reads the
 * holder afterwards; when that holder released the lock in between, it tries again.
 */
import { StoreError } from '../errors.ts';
import type { LockRequest } from '../types.ts';
import { lockExpiry, renewedExpiry } from '../rows.ts';
import type { Db } from './connection.ts';
import type { LockRow } from './rows.ts';

const LOCK_COLUMNS = `name, token, run_id, pid, pid_start, node, acquired_at, expires_at`;

const SELECT_LOCK = `SELECT ${LOCK_COLUMNS} FROM locks WHERE name = $1`;
const SELECT_LOCKS = `SELECT ${LOCK_COLUMNS} FROM locks ORDER BY name`;
const TAKE_LOCK = `
INSERT INTO locks (${LOCK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (name) DO UPDATE SET
  token = excluded.token, run_id = excluded.run_id, pid = excluded.pid, pid_start = excluded.pid_start,
  node = excluded.node, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
WHERE locks.expires_at < excluded.acquired_at OR locks.token = $9
RETURNING name`;
const DELETE_LOCK = `DELETE FROM locks WHERE name = $1 AND token = $2`;
const DELETE_RUN_LOCKS = `DELETE FROM locks WHERE run_id = $1`;
const RENEW_LOCK = `UPDATE locks SET expires_at = $1 WHERE name = $2 AND token = $3`;

/** A holder that releases between our failed take and our read makes us try again; this bounds the retries. */
const TAKE_ATTEMPTS = 5;

export type TakeResult = { taken: true } | { taken: false; heldBy: LockRow };

export async function getLockRow(db: Db, name: string): Promise<LockRow | undefined> {
  return (await db.query<LockRow>(SELECT_LOCK, [name])).rows[0];
}

export async function listLockRows(db: Db): Promise<LockRow[]> {
  return (await db.query<LockRow>(SELECT_LOCKS)).rows;
}

/** Takes `request`'s lock for `runId` when it is free, else names the holder. Writes nothing when it is held. */
export async function takeLock(db: Db, request: LockRequest, runId: string | null, nowMs: number): Promise<TakeResult> {
  const { holder } = request;
  const values = [
    request.name,
    holder.token,
    runId,
    holder.pid,
    holder.pid_start,
    holder.node,
    nowMs,
    lockExpiry(request, nowMs),
    request.replaceToken ?? null,
  ];
  for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
    if ((await db.query(TAKE_LOCK, values)).rowCount === 1) return { taken: true };
    const holderRow = await getLockRow(db, request.name);
    if (holderRow !== undefined) return { taken: false, heldBy: holderRow };
  }
  throw new StoreError('busy', `lock ${request.name} changed hands ${TAKE_ATTEMPTS} times while being taken; try again`);
}

export async function releaseLockRow(db: Db, name: string, token: string): Promise<boolean> {
  return ((await db.query(DELETE_LOCK, [name, token])).rowCount ?? 0) > 0;
}

export async function releaseRunLocks(db: Db, runId: string): Promise<number> {
  return (await db.query(DELETE_RUN_LOCKS, [runId])).rowCount ?? 0;
}

export async function renewLockRow(db: Db, name: string, token: string, ttlMs: number, now: string): Promise<boolean> {
  const expiresAt = renewedExpiry(ttlMs, now);
  return ((await db.query(RENEW_LOCK, [expiresAt, name, token])).rowCount ?? 0) > 0;
}
