/**
 * Check and ping rows on PostgreSQL: the SQL. The rows, their mapping and the state machine a ping or a pause drives
 * are shared with SQLite in ../check-rows.ts. A read-modify-write of a check (a ping, a pause) locks the check's row
 * (`FOR UPDATE`) so two nodes receiving pings for one check at once apply them one after the other. `syncChecks`
 * takes a transaction advisory lock so two nodes reloading at once do not both insert a missing check.
 */
import {
  applyPing,
  checkFromRow,
  durationSince,
  newCheckRow,
  pausedCheckRow,
  pingEndsRun,
  pingFromRow,
  type CheckRow,
  type PingRow,
} from '../check-rows.ts';
import { StoreError } from '../errors.ts';
import type { CheckRecord, CheckSpec, NewPing, Ping } from '../types.ts';
import type { Db } from './connection.ts';
import { ADVISORY_NAMESPACE } from './advisory.ts';
import { pgText, toMs } from './rows.ts';

const CHECK_COLUMNS = `name, uuid, origin, status, created_at, last_ping_at, last_success_at, last_start_at,
  last_start_rid, down_since, resumed_at, every_ms, grace_ms`;
const SELECT_CHECKS = `SELECT ${CHECK_COLUMNS} FROM checks ORDER BY name`;
const SELECT_CHECK = `SELECT ${CHECK_COLUMNS} FROM checks WHERE name = $1`;
const LOCK_CHECK = `SELECT ${CHECK_COLUMNS} FROM checks WHERE name = $1 FOR UPDATE`;
const SELECT_CHECK_BY_UUID = `SELECT ${CHECK_COLUMNS} FROM checks WHERE uuid = $1`;
const INSERT_CHECK = `INSERT INTO checks (${CHECK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;
const INSERT_CREATED = `${INSERT_CHECK} ON CONFLICT (name) DO NOTHING`;
const UPDATE_CHECK = `UPDATE checks SET status = $2, last_ping_at = $3, last_success_at = $4, last_start_at = $5,
  last_start_rid = $6, down_since = $7, resumed_at = $8 WHERE name = $1`;
const SET_UUID = `UPDATE checks SET uuid = $1, origin = $2 WHERE name = $3`;
const DELETE_CHECK = `DELETE FROM checks WHERE name = $1`;
const MARK_DOWN = `UPDATE checks SET status = 'down', down_since = $1 WHERE name = $2 AND status IN ('new', 'up')
  RETURNING ${CHECK_COLUMNS}`;
const INSERT_PING = `INSERT INTO pings (check_name, kind, exit_code, rid, body, created_at, duration_ms)
  VALUES ($1, $2, $3, $4, $5, $6, $7)`;
const SELECT_PINGS = `SELECT kind, exit_code, rid, body, created_at, duration_ms FROM pings
  WHERE check_name = $1 ORDER BY id DESC LIMIT $2`;
const SELECT_START_BY_RID = `SELECT created_at FROM pings WHERE check_name = $1 AND kind = 'start' AND rid = $2
  ORDER BY id DESC LIMIT 1`;
const TRIM_PINGS = `DELETE FROM pings WHERE check_name = $1 AND id <= (
  SELECT id FROM pings WHERE check_name = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`;
const LOCK_SYNC = `SELECT pg_advisory_xact_lock(${ADVISORY_NAMESPACE.checks}, 0)`;

function checkValues(row: CheckRow): unknown[] {
  return [
    row.name,
    row.uuid,
    row.origin,
    row.status,
    row.created_at,
    row.last_ping_at,
    row.last_success_at,
    row.last_start_at,
    row.last_start_rid,
    row.down_since,
    row.resumed_at,
    row.every_ms,
    row.grace_ms,
  ];
}

async function updateCheck(db: Db, row: CheckRow): Promise<void> {
  await db.query(UPDATE_CHECK, [
    row.name,
    row.status,
    row.last_ping_at,
    row.last_success_at,
    row.last_start_at,
    row.last_start_rid,
    row.down_since,
    row.resumed_at,
  ]);
}

/** Locks the check's row for the rest of the transaction; 'not_found' for an unknown check. */
async function lockCheckRow(db: Db, name: string): Promise<CheckRow> {
  const row = (await db.query<CheckRow>(LOCK_CHECK, [name])).rows[0];
  if (row === undefined) throw new StoreError('not_found', `no check named '${name}'`);
  return row;
}

export async function listCheckRows(db: Db): Promise<CheckRecord[]> {
  return (await db.query<CheckRow>(SELECT_CHECKS)).rows.map(checkFromRow);
}

export async function getCheckRecord(db: Db, name: string): Promise<CheckRecord | null> {
  const row = (await db.query<CheckRow>(SELECT_CHECK, [name])).rows[0];
  return row === undefined ? null : checkFromRow(row);
}

export async function findCheckByUuidRow(db: Db, uuid: string): Promise<CheckRecord | null> {
  const row = (await db.query<CheckRow>(SELECT_CHECK_BY_UUID, [uuid])).rows[0];
  return row === undefined ? null : checkFromRow(row);
}

/** Run inside a transaction. */
export async function syncCheckRows(db: Db, wanted: readonly CheckSpec[], now: string, newUuid: () => string): Promise<void> {
  const nowMs = toMs(now, 'now');
  await db.query(LOCK_SYNC);
  const wantedNames = new Set(wanted.map((spec) => spec.name));
  const existing = new Map((await db.query<CheckRow>(SELECT_CHECKS)).rows.map((row) => [row.name, row]));
  for (const row of existing.values()) {
    if (row.origin !== 'created' && !wantedNames.has(row.name)) {
      await db.query(DELETE_CHECK, [row.name]);
      existing.delete(row.name);
    }
  }
  for (const spec of wanted) {
    if (spec.uuid !== null) {
      const owner = await findCheckByUuidRow(db, spec.uuid);
      if (owner !== null && owner.name !== spec.name) {
        throw new StoreError('conflict', `uuid ${spec.uuid} of check '${spec.name}' already belongs to check '${owner.name}'`);
      }
    }
    const row = existing.get(spec.name);
    if (row === undefined) {
      const created = newCheckRow(spec.name, spec.uuid ?? newUuid(), spec.origin, nowMs);
      await db.query(INSERT_CHECK, checkValues(created));
      existing.set(spec.name, created);
    } else if ((spec.uuid !== null && spec.uuid !== row.uuid) || spec.origin !== row.origin) {
      // A check created by a ping and later written into the config becomes the config's, with its pings kept.
      await db.query(SET_UUID, [spec.uuid ?? row.uuid, spec.origin, spec.name]);
      existing.set(spec.name, { ...row, uuid: spec.uuid ?? row.uuid, origin: spec.origin });
    }
  }
}

export async function createCheckRow(
  db: Db,
  input: { name: string; uuid: string; every_ms: number; grace_ms: number; at: string },
): Promise<CheckRecord> {
  const row: CheckRow = {
    ...newCheckRow(input.name, input.uuid, 'created', toMs(input.at, 'at')),
    every_ms: input.every_ms,
    grace_ms: input.grace_ms,
  };
  // Two nodes creating the same check at once: one inserts, the other finds it.
  if ((await db.query(INSERT_CREATED, checkValues(row))).rowCount === 1) return checkFromRow(row);
  const existing = await getCheckRecord(db, input.name);
  if (existing === null) throw new StoreError('conflict', `check '${input.name}' was deleted while being created; try again`);
  return existing;
}

/** Run inside a transaction. */
export async function recordPingRows(db: Db, ping: NewPing): Promise<{ before: CheckRecord; after: CheckRecord; ping: Ping }> {
  const row = await lockCheckRow(db, ping.check);
  const at = toMs(ping.at, 'at');
  const rid = pgText(ping.rid);
  const body = pgText(ping.body);
  const durationMs = pingEndsRun(ping) ? await startedAt(db, row, rid, at) : null;
  const { next, result } = applyPing(row, ping, { rid, body, at, duration_ms: durationMs });
  await updateCheck(db, next);
  await db.query(INSERT_PING, [ping.check, ping.kind, ping.exit_code, rid, body, at, durationMs]);
  await db.query(TRIM_PINGS, [ping.check, Math.max(ping.keep, 1)]);
  return result;
}

/** Milliseconds since the start this end pairs with: by rid when given (runs may overlap), else the open start. */
async function startedAt(db: Db, row: CheckRow, rid: string | null, at: number): Promise<number | null> {
  if (rid === null) return durationSince(row.last_start_at, at);
  const start = (await db.query<{ created_at: number }>(SELECT_START_BY_RID, [row.name, rid])).rows[0];
  return durationSince(start?.created_at ?? null, at);
}

export async function listPingRows(db: Db, check: string, limit: number): Promise<Ping[]> {
  return (await db.query<PingRow>(SELECT_PINGS, [check, limit])).rows.map(pingFromRow);
}

export async function markCheckDownRow(db: Db, name: string, since: string): Promise<CheckRecord | null> {
  const row = (await db.query<CheckRow>(MARK_DOWN, [toMs(since, 'since'), name])).rows[0];
  return row === undefined ? null : checkFromRow(row);
}

/** Run inside a transaction. */
export async function setCheckPausedRow(db: Db, name: string, paused: boolean, at: string): Promise<CheckRecord> {
  const next = pausedCheckRow(await lockCheckRow(db, name), paused, at);
  await updateCheck(db, next);
  return checkFromRow(next);
}
