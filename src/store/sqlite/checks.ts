/**
 * Check and ping rows on SQLite: the SQL. The rows, their mapping and the state machine a ping or a pause drives are
 * shared with PostgreSQL in ../check-rows.ts.
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
import type { StatementCache } from './connection.ts';
import { toMs } from './rows.ts';

const CHECK_COLUMNS = `name, uuid, origin, status, created_at, last_ping_at, last_success_at, last_start_at,
  last_start_rid, down_since, resumed_at, every_ms, grace_ms`;
const SELECT_CHECKS = `SELECT ${CHECK_COLUMNS} FROM checks ORDER BY name`;
const SELECT_CHECK = `SELECT ${CHECK_COLUMNS} FROM checks WHERE name = ?`;
const SELECT_CHECK_BY_UUID = `SELECT ${CHECK_COLUMNS} FROM checks WHERE uuid = ?`;
const INSERT_CHECK = `INSERT INTO checks (${CHECK_COLUMNS}) VALUES (@name, @uuid, @origin, @status, @created_at,
  @last_ping_at, @last_success_at, @last_start_at, @last_start_rid, @down_since, @resumed_at, @every_ms, @grace_ms)`;
const UPDATE_CHECK = `UPDATE checks SET status = @status, last_ping_at = @last_ping_at,
  last_success_at = @last_success_at, last_start_at = @last_start_at, last_start_rid = @last_start_rid,
  down_since = @down_since, resumed_at = @resumed_at WHERE name = @name`;
const SET_UUID = `UPDATE checks SET uuid = ?, origin = ? WHERE name = ?`;
const DELETE_CHECK = `DELETE FROM checks WHERE name = ?`;
const MARK_DOWN = `UPDATE checks SET status = 'down', down_since = ? WHERE name = ? AND status IN ('new', 'up')`;
const INSERT_PING = `INSERT INTO pings (check_name, kind, exit_code, rid, body, created_at, duration_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;
const SELECT_PINGS = `SELECT kind, exit_code, rid, body, created_at, duration_ms FROM pings
  WHERE check_name = ? ORDER BY id DESC LIMIT ?`;
const SELECT_START_BY_RID = `SELECT created_at FROM pings WHERE check_name = ? AND kind = 'start' AND rid = ?
  ORDER BY id DESC LIMIT 1`;
const TRIM_PINGS = `DELETE FROM pings WHERE check_name = ? AND id <= (
  SELECT id FROM pings WHERE check_name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`;

function getCheckRow(sql: StatementCache, name: string): CheckRow | undefined {
  return sql.get<[string], CheckRow>(SELECT_CHECK).get(name);
}

function requireCheckRow(sql: StatementCache, name: string): CheckRow {
  const row = getCheckRow(sql, name);
  if (row === undefined) throw new StoreError('not_found', `no check named '${name}'`);
  return row;
}

export function listCheckRows(sql: StatementCache): CheckRecord[] {
  return sql.get<[], CheckRow>(SELECT_CHECKS).all().map(checkFromRow);
}

export function getCheckRecord(sql: StatementCache, name: string): CheckRecord | null {
  const row = getCheckRow(sql, name);
  return row === undefined ? null : checkFromRow(row);
}

export function findCheckByUuidRow(sql: StatementCache, uuid: string): CheckRecord | null {
  const row = sql.get<[string], CheckRow>(SELECT_CHECK_BY_UUID).get(uuid);
  return row === undefined ? null : checkFromRow(row);
}

/** Run inside a transaction. */
export function syncCheckRows(sql: StatementCache, wanted: readonly CheckSpec[], now: string, newUuid: () => string): void {
  const nowMs = toMs(now, 'now');
  const wantedNames = new Set(wanted.map((spec) => spec.name));
  for (const existing of sql.get<[], CheckRow>(SELECT_CHECKS).all()) {
    if (existing.origin !== 'created' && !wantedNames.has(existing.name)) sql.get<[string]>(DELETE_CHECK).run(existing.name);
  }
  for (const spec of wanted) {
    const row = getCheckRow(sql, spec.name);
    if (spec.uuid !== null) {
      const owner = findCheckByUuidRow(sql, spec.uuid);
      if (owner !== null && owner.name !== spec.name) {
        throw new StoreError('conflict', `uuid ${spec.uuid} of check '${spec.name}' already belongs to check '${owner.name}'`);
      }
    }
    if (row === undefined) {
      sql.get<CheckRow>(INSERT_CHECK).run(newCheckRow(spec.name, spec.uuid ?? newUuid(), spec.origin, nowMs));
    } else if ((spec.uuid !== null && spec.uuid !== row.uuid) || spec.origin !== row.origin) {
      // A check created by a ping and later written into the config becomes the config's, with its pings kept.
      sql.get<[string, string, string]>(SET_UUID).run(spec.uuid ?? row.uuid, spec.origin, spec.name);
    }
  }
}

export function createCheckRow(
  sql: StatementCache,
  input: { name: string; uuid: string; every_ms: number; grace_ms: number; at: string },
): CheckRecord {
  const existing = getCheckRow(sql, input.name);
  if (existing !== undefined) return checkFromRow(existing);
  const row = { ...newCheckRow(input.name, input.uuid, 'created', toMs(input.at, 'at')), every_ms: input.every_ms, grace_ms: input.grace_ms };
  sql.get<CheckRow>(INSERT_CHECK).run(row);
  return checkFromRow(row);
}

/** Run inside a transaction. */
export function recordPingRows(sql: StatementCache, ping: NewPing): { before: CheckRecord; after: CheckRecord; ping: Ping } {
  const row = requireCheckRow(sql, ping.check);
  const at = toMs(ping.at, 'at');
  const durationMs = pingEndsRun(ping) ? startedAt(sql, row, ping.rid, at) : null;
  const { next, result } = applyPing(row, ping, { rid: ping.rid, body: ping.body, at, duration_ms: durationMs });
  sql.get<CheckRow>(UPDATE_CHECK).run(next);
  sql.get<[string, string, number | null, string | null, string | null, number, number | null]>(INSERT_PING).run(
    ping.check,
    ping.kind,
    ping.exit_code,
    ping.rid,
    ping.body,
    at,
    durationMs,
  );
  sql.get<[string, string, number]>(TRIM_PINGS).run(ping.check, ping.check, Math.max(ping.keep, 1));
  return result;
}

/** Milliseconds since the start this end pairs with: by rid when given (runs may overlap), else the open start. */
function startedAt(sql: StatementCache, row: CheckRow, rid: string | null, at: number): number | null {
  if (rid === null) return durationSince(row.last_start_at, at);
  const start = sql.get<[string, string], { created_at: number }>(SELECT_START_BY_RID).get(row.name, rid);
  return durationSince(start?.created_at ?? null, at);
}

export function listPingRows(sql: StatementCache, check: string, limit: number): Ping[] {
  return sql.get<[string, number], PingRow>(SELECT_PINGS).all(check, limit).map(pingFromRow);
}

export function markCheckDownRow(sql: StatementCache, name: string, since: string): CheckRecord | null {
  const changed = sql.get<[number, string]>(MARK_DOWN).run(toMs(since, 'since'), name).changes === 1;
  return changed ? getCheckRecord(sql, name) : null;
}

/** Run inside a transaction. */
export function setCheckPausedRow(sql: StatementCache, name: string, paused: boolean, at: string): CheckRecord {
  const next = pausedCheckRow(requireCheckRow(sql, name), paused, at);
  sql.get<CheckRow>(UPDATE_CHECK).run(next);
  return checkFromRow(next);
}
