/**
 * Check and ping rows, shared by both dialects: the row shapes, the row→record mapping, and the state machine that a
 * ping or a pause drives. A check's stored status is one of new, up, down, paused; `grace` and `started` are worked
 * out from these fields and the clock by the watcher, so nothing has to be written when a check merely enters its
 * grace. What differs stays in each dialect's checks.ts: the SQL, PostgreSQL's row locks, and its NUL handling (the
 * dialect passes `rid` and `body` here as it stores them).
 */
import { toIso, toIsoOrNull, toMs } from './rows.ts';
import type { CheckOrigin, CheckRecord, NewPing, Ping, PingKind, StoredCheckStatus } from './types.ts';

export interface CheckRow {
  name: string;
  uuid: string;
  origin: string;
  status: string;
  created_at: number;
  last_ping_at: number | null;
  last_success_at: number | null;
  last_start_at: number | null;
  last_start_rid: string | null;
  down_since: number | null;
  resumed_at: number | null;
  every_ms: number | null;
  grace_ms: number | null;
}

export interface PingRow {
  kind: string;
  exit_code: number | null;
  rid: string | null;
  body: string | null;
  created_at: number;
  duration_ms: number | null;
}

export function checkFromRow(row: CheckRow): CheckRecord {
  return {
    name: row.name,
    uuid: row.uuid,
    // Safe: both columns are CHECK-constrained to these values.
    origin: row.origin as CheckOrigin,
    status: row.status as StoredCheckStatus,
    created_at: toIso(row.created_at),
    last_ping_at: toIsoOrNull(row.last_ping_at),
    last_success_at: toIsoOrNull(row.last_success_at),
    last_start_at: toIsoOrNull(row.last_start_at),
    last_start_rid: row.last_start_rid,
    down_since: toIsoOrNull(row.down_since),
    resumed_at: toIsoOrNull(row.resumed_at),
    every_ms: row.every_ms,
    grace_ms: row.grace_ms,
  };
}

export function pingFromRow(row: PingRow): Ping {
  return {
    kind: row.kind as PingKind,
    exit_code: row.exit_code,
    rid: row.rid,
    body: row.body,
    created_at: toIso(row.created_at),
    duration_ms: row.duration_ms,
  };
}

export function newCheckRow(name: string, uuid: string, origin: CheckOrigin, at: number): CheckRow {
  return {
    name,
    uuid,
    origin,
    status: 'new',
    created_at: at,
    last_ping_at: null,
    last_success_at: null,
    last_start_at: null,
    last_start_rid: null,
    down_since: null,
    resumed_at: null,
    every_ms: null,
    grace_ms: null,
  };
}

/** Whether `ping` ends a run (success, fail, or exit with any code): only then is a duration measured. */
export function pingEndsRun(ping: Pick<NewPing, 'kind'>): boolean {
  return ping.kind === 'success' || ping.kind === 'fail' || ping.kind === 'exit';
}

/**
 * Milliseconds from `start` (the start this end pairs with, found by the dialect) to `at`; null without a start, or
 * when the start is later than the end (a clock stepped back must not give a negative).
 */
export function durationSince(start: number | null, at: number): number | null {
  return start === null || start > at ? null : at - start;
}

/** A ping as the dialect stores it: `rid` and `body` as written, `at` in ms, and its duration when it ends a run. */
export interface StoredPing {
  rid: string | null;
  body: string | null;
  at: number;
  duration_ms: number | null;
}

/** What a ping does to its check: the row to write, and what the store returns (`before`, `after`, the ping). */
export function applyPing(
  row: CheckRow,
  ping: NewPing,
  stored: StoredPing,
): { next: CheckRow; result: { before: CheckRecord; after: CheckRecord; ping: Ping } } {
  const { rid, at } = stored;
  const next: CheckRow = { ...row };
  const success = ping.kind === 'success' || (ping.kind === 'exit' && ping.exit_code === 0);

  if (ping.kind === 'start') {
    next.last_start_at = at;
    next.last_start_rid = rid;
    next.last_ping_at = at;
    if (row.status === 'paused') next.status = unpausedStatus(row);
  } else if (pingEndsRun(ping)) {
    // The open start is closed by its own end (same rid), or by any end when the start had no rid.
    if (rid === null || rid === row.last_start_rid) {
      next.last_start_at = null;
      next.last_start_rid = null;
    }
    next.last_ping_at = at;
    if (success) {
      next.status = 'up';
      next.last_success_at = at;
      next.down_since = null;
    } else {
      next.status = 'down';
      next.down_since = row.status === 'down' ? row.down_since : at;
    }
  }
  const record: Ping = {
    kind: ping.kind,
    exit_code: ping.exit_code,
    rid,
    body: stored.body,
    created_at: toIso(at),
    duration_ms: stored.duration_ms,
  };
  return { next, result: { before: checkFromRow(row), after: checkFromRow(next), ping: record } };
}

/** The check's row after pausing or resuming it at `at`; resuming a check that is not paused changes nothing. */
export function pausedCheckRow(row: CheckRow, paused: boolean, at: string): CheckRow {
  const next: CheckRow = { ...row };
  if (paused) {
    next.status = 'paused';
    next.down_since = null;
  } else if (row.status === 'paused') {
    next.status = unpausedStatus(row);
    next.resumed_at = toMs(at, 'at');
  }
  return next;
}

/** The status of a check leaving its pause: up once it has ever succeeded, else new (pausing cleared its down). */
function unpausedStatus(row: CheckRow): StoredCheckStatus {
  return row.last_success_at === null ? 'new' : 'up';
}
