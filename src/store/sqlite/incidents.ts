/**
 * Incident and outbox rows on SQLite: the SQL; the rows and their mapping are shared in ../incident-rows.ts. An
 * incident and the notifications it needs are written in one transaction, so a crash can neither open an incident
 * nobody hears about nor queue a message about an incident that does not exist.
 */
import {
  backlogFromRow,
  detailText,
  flappedDetailText,
  incidentFromRow,
  incidentListLimit,
  newIncidentRow,
  outboxFromRow,
  type BacklogRow,
  type IncidentRow,
  type OutboxRow,
} from '../incident-rows.ts';
import type {
  ChannelBacklog,
  Incident,
  IncidentDetail,
  IncidentKind,
  NewIncident,
  NewNotification,
  NotificationEvent,
  OutboxEntry,
} from '../types.ts';
import type { StatementCache } from './connection.ts';
import { toIsoOrNull, toMs } from './rows.ts';

const INCIDENT_COLUMNS = `id, kind, subject, state, opened_at, resolved_at, summary, detail, last_notified_at`;
const SELECT_OPEN = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE kind = ? AND subject = ? AND state = 'open'`;
const SELECT_LATEST = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE kind = ? AND subject = ? ORDER BY id DESC LIMIT 1`;
const SELECT_INCIDENT = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = ?`;
const INSERT_INCIDENT = `INSERT INTO incidents (${INCIDENT_COLUMNS}) VALUES (@id, @kind, @subject, @state, @opened_at,
  @resolved_at, @summary, @detail, @last_notified_at)`;
const REOPEN = `UPDATE incidents SET state = 'open', resolved_at = NULL, detail = ? WHERE id = ?`;
const RESOLVE = `UPDATE incidents SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open'`;
const UPDATE_TEXT = `UPDATE incidents SET summary = ?, detail = ? WHERE id = ? AND state = 'open'`;
const SET_NOTIFIED = `UPDATE incidents SET last_notified_at = ? WHERE id = ? AND state = 'open'`;
const PENDING_RECOVERIES = `SELECT id FROM outbox WHERE incident_id = ? AND event = 'incident.resolved' AND state = 'pending'`;
const CANCEL_RECOVERIES = `UPDATE outbox SET state = 'cancelled' WHERE incident_id = ? AND event = 'incident.resolved'
  AND state = 'pending'`;
const INSERT_OUTBOX = `INSERT INTO outbox (id, incident_id, channel, event, created_at, due_at, attempts, state)
  VALUES (?, ?, ?, ?, ?, ?, 0, 'pending')`;
const SELECT_DUE = `SELECT * FROM outbox WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?`;
const SELECT_NEXT_DUE = `SELECT MIN(due_at) AS due FROM outbox WHERE state = 'pending'`;
const SELECT_OF_INCIDENT = `SELECT * FROM outbox WHERE incident_id = ? ORDER BY created_at, id`;
const MARK_SENT = `UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'`;
const MARK_RETRY = `UPDATE outbox SET attempts = attempts + 1, last_error = ?, due_at = ? WHERE id = ? AND state = 'pending'`;
const MARK_FAILED = `UPDATE outbox SET attempts = attempts + 1, last_error = ?, state = 'failed' WHERE id = ?
  AND state = 'pending'`;
const BACKLOG = `SELECT channel,
    SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
    MAX(CASE WHEN state = 'pending' THEN attempts ELSE 0 END) AS attempts,
    MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest_at,
    SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed
  FROM outbox GROUP BY channel ORDER BY channel`;
const LAST_ERROR = `SELECT last_error FROM outbox WHERE channel = ? AND last_error IS NOT NULL
  AND state IN ('pending', 'failed') ORDER BY attempts DESC, id DESC LIMIT 1`;
const PRUNE = `DELETE FROM incidents WHERE state = 'resolved' AND resolved_at < ?`;

function queue(sql: StatementCache, incidentId: string, event: NotificationEvent, notify: readonly NewNotification[], at: number, due: number): void {
  for (const entry of notify) {
    sql.get<[string, string, string, string, number, number]>(INSERT_OUTBOX).run(entry.id, incidentId, entry.channel, event, at, due);
  }
}

/** Run inside a transaction. */
export function openIncidentRows(sql: StatementCache, input: NewIncident): { incident: Incident; outcome: 'opened' | 'already_open' | 'reopened' } {
  const at = toMs(input.at, 'at');
  const open = sql.get<[string, string], IncidentRow>(SELECT_OPEN).get(input.kind, input.subject);
  if (open !== undefined) return { incident: incidentFromRow(open), outcome: 'already_open' };

  const latest = sql.get<[string, string], IncidentRow>(SELECT_LATEST).get(input.kind, input.subject);
  if (latest !== undefined && sql.get<[string], { id: string }>(PENDING_RECOVERIES).all(latest.id).length > 0) {
    // It cleared and came back before anyone was told it cleared: one incident, still open, told once.
    const flapped = flappedDetailText(latest);
    sql.get<[string]>(CANCEL_RECOVERIES).run(latest.id);
    sql.get<[string, string]>(REOPEN).run(flapped, latest.id);
    return { incident: incidentFromRow({ ...latest, state: 'open', resolved_at: null, detail: flapped }), outcome: 'reopened' };
  }

  const row = newIncidentRow(input, at);
  sql.get<IncidentRow>(INSERT_INCIDENT).run(row);
  queue(sql, input.id, 'incident.opened', input.notify, at, at);
  return { incident: incidentFromRow(row), outcome: 'opened' };
}

/** Run inside a transaction. */
export function resolveIncidentRows(
  sql: StatementCache,
  input: { kind: IncidentKind; subject: string; at: string; notify: readonly NewNotification[]; notify_at: string },
): Incident | null {
  const open = sql.get<[string, string], IncidentRow>(SELECT_OPEN).get(input.kind, input.subject);
  if (open === undefined) return null;
  const at = toMs(input.at, 'at');
  sql.get<[number, string]>(RESOLVE).run(at, open.id);
  queue(sql, open.id, 'incident.resolved', input.notify, at, toMs(input.notify_at, 'notify_at'));
  return incidentFromRow({ ...open, state: 'resolved', resolved_at: at });
}

export function updateIncidentRow(sql: StatementCache, id: string, summary: string, detail: IncidentDetail): boolean {
  return sql.get<[string, string, string]>(UPDATE_TEXT).run(summary, detailText(detail), id).changes === 1;
}

/** Run inside a transaction. */
export function renotifyIncidentRows(sql: StatementCache, id: string, at: string, notify: readonly NewNotification[]): boolean {
  const atMs = toMs(at, 'at');
  if (sql.get<[number, string]>(SET_NOTIFIED).run(atMs, id).changes !== 1) return false;
  queue(sql, id, 'incident.renotify', notify, atMs, atMs);
  return true;
}

export function getIncidentRow(sql: StatementCache, id: string): Incident | null {
  const row = sql.get<[string], IncidentRow>(SELECT_INCIDENT).get(id);
  return row === undefined ? null : incidentFromRow(row);
}

export function listIncidentRows(sql: StatementCache, query: { open?: boolean; subject?: string; limit?: number }): Incident[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.open) where.push(`state = 'open'`);
  if (query.subject !== undefined) {
    where.push('subject = ?');
    params.push(query.subject);
  }
  const limit = incidentListLimit(query.limit);
  const text = `SELECT ${INCIDENT_COLUMNS} FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return sql.get<(string | number)[], IncidentRow>(text).all(...params, limit).map(incidentFromRow);
}

export function listDueRows(sql: StatementCache, now: string, limit: number): OutboxEntry[] {
  return sql.get<[number, number], OutboxRow>(SELECT_DUE).all(toMs(now, 'now'), limit).map(outboxFromRow);
}

export function incidentNotificationRows(sql: StatementCache, incidentId: string): OutboxEntry[] {
  return sql.get<[string], OutboxRow>(SELECT_OF_INCIDENT).all(incidentId).map(outboxFromRow);
}

export function nextDueRow(sql: StatementCache): string | null {
  return toIsoOrNull(sql.get<[], { due: number | null }>(SELECT_NEXT_DUE).get()?.due ?? null);
}

export function markSentRow(sql: StatementCache, id: string, at: string): boolean {
  return sql.get<[number, string]>(MARK_SENT).run(toMs(at, 'at'), id).changes === 1;
}

export function markFailedRow(sql: StatementCache, id: string, error: string, retryAt: string | null): void {
  if (retryAt === null) sql.get<[string, string]>(MARK_FAILED).run(error, id);
  else sql.get<[string, number, string]>(MARK_RETRY).run(error, toMs(retryAt, 'retry_at'), id);
}

export function backlogRows(sql: StatementCache): ChannelBacklog[] {
  return sql
    .get<[], BacklogRow>(BACKLOG)
    .all()
    .map((row) => backlogFromRow(row, sql.get<[string], { last_error: string }>(LAST_ERROR).get(row.channel)?.last_error ?? null));
}

export function pruneIncidentRows(sql: StatementCache, olderThan: string): number {
  return sql.get<[number]>(PRUNE).run(toMs(olderThan, 'olderThan')).changes;
}
