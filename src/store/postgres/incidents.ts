/**
 * Incident and outbox rows on PostgreSQL: the SQL; the rows, their mapping and the rules that need no SQL are shared
 * with SQLite in ../incident-rows.ts. An incident and the notifications it needs are written in one transaction.
 * Opening and resolving first take a transaction advisory lock on (kind, subject), so two nodes noticing one
 * condition at once open it once: the second waits, then finds it open.
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
import { ADVISORY_NAMESPACE } from './advisory.ts';
import type { Db } from './connection.ts';
import { pgText, toIsoOrNull, toMs } from './rows.ts';

const INCIDENT_COLUMNS = `id, kind, subject, state, opened_at, resolved_at, summary, detail, last_notified_at`;
const OUTBOX_COLUMNS = `id, incident_id, channel, event, created_at, due_at, attempts, last_error, state, sent_at`;
const LOCK_CONDITION = `SELECT pg_advisory_xact_lock(${ADVISORY_NAMESPACE.incidents}, hashtext($1::text || '/' || $2::text))`;
const SELECT_OPEN = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE kind = $1 AND subject = $2 AND state = 'open'`;
const SELECT_LATEST = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE kind = $1 AND subject = $2 ORDER BY id DESC LIMIT 1`;
const SELECT_INCIDENT = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1`;
const INSERT_INCIDENT = `INSERT INTO incidents (${INCIDENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
const REOPEN = `UPDATE incidents SET state = 'open', resolved_at = NULL, detail = $1 WHERE id = $2`;
const RESOLVE = `UPDATE incidents SET state = 'resolved', resolved_at = $1 WHERE id = $2 AND state = 'open'`;
const UPDATE_TEXT = `UPDATE incidents SET summary = $1, detail = $2 WHERE id = $3 AND state = 'open'`;
const SET_NOTIFIED = `UPDATE incidents SET last_notified_at = $1 WHERE id = $2 AND state = 'open'`;
const HAS_PENDING_RECOVERY = `SELECT 1 FROM outbox WHERE incident_id = $1 AND event = 'incident.resolved'
  AND state = 'pending' LIMIT 1`;
const CANCEL_RECOVERIES = `UPDATE outbox SET state = 'cancelled' WHERE incident_id = $1 AND event = 'incident.resolved'
  AND state = 'pending'`;
const INSERT_OUTBOX = `INSERT INTO outbox (id, incident_id, channel, event, created_at, due_at, attempts, state)
  VALUES ($1, $2, $3, $4, $5, $6, 0, 'pending')`;
const SELECT_DUE = `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND due_at <= $1
  ORDER BY due_at, id LIMIT $2`;
const SELECT_NEXT_DUE = `SELECT MIN(due_at) AS due FROM outbox WHERE state = 'pending'`;
const SELECT_OF_INCIDENT = `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE incident_id = $1 ORDER BY created_at, id`;
const MARK_SENT = `UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1 WHERE id = $2 AND state = 'pending'`;
const MARK_RETRY = `UPDATE outbox SET attempts = attempts + 1, last_error = $1, due_at = $2 WHERE id = $3 AND state = 'pending'`;
const MARK_FAILED = `UPDATE outbox SET attempts = attempts + 1, last_error = $1, state = 'failed' WHERE id = $2
  AND state = 'pending'`;
const BACKLOG = `SELECT channel,
    SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
    MAX(CASE WHEN state = 'pending' THEN attempts ELSE 0 END) AS attempts,
    MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest_at,
    SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed
  FROM outbox GROUP BY channel ORDER BY channel`;
const LAST_ERROR = `SELECT last_error FROM outbox WHERE channel = $1 AND last_error IS NOT NULL
  AND state IN ('pending', 'failed') ORDER BY attempts DESC, id DESC LIMIT 1`;
const PRUNE = `DELETE FROM incidents WHERE state = 'resolved' AND resolved_at < $1`;

async function queue(db: Db, incidentId: string, event: NotificationEvent, notify: readonly NewNotification[], at: number, due: number): Promise<void> {
  for (const entry of notify) await db.query(INSERT_OUTBOX, [entry.id, incidentId, entry.channel, event, at, due]);
}

/** Run inside a transaction. */
export async function openIncidentRows(db: Db, input: NewIncident): Promise<{ incident: Incident; outcome: 'opened' | 'already_open' | 'reopened' }> {
  const at = toMs(input.at, 'at');
  await db.query(LOCK_CONDITION, [input.kind, input.subject]);
  const open = (await db.query<IncidentRow>(SELECT_OPEN, [input.kind, input.subject])).rows[0];
  if (open !== undefined) return { incident: incidentFromRow(open), outcome: 'already_open' };

  const latest = (await db.query<IncidentRow>(SELECT_LATEST, [input.kind, input.subject])).rows[0];
  if (latest !== undefined && (await db.query(HAS_PENDING_RECOVERY, [latest.id])).rows.length > 0) {
    // It cleared and came back before anyone was told it cleared: one incident, still open, told once.
    const flapped = flappedDetailText(latest);
    await db.query(CANCEL_RECOVERIES, [latest.id]);
    await db.query(REOPEN, [flapped, latest.id]);
    return { incident: incidentFromRow({ ...latest, state: 'open', resolved_at: null, detail: flapped }), outcome: 'reopened' };
  }

  const row: IncidentRow = { ...newIncidentRow(input, at), summary: pgText(input.summary) };
  await db.query(INSERT_INCIDENT, [row.id, row.kind, row.subject, row.state, row.opened_at, row.resolved_at, row.summary, row.detail, row.last_notified_at]);
  await queue(db, input.id, 'incident.opened', input.notify, at, at);
  return { incident: incidentFromRow(row), outcome: 'opened' };
}

/** Run inside a transaction. */
export async function resolveIncidentRows(
  db: Db,
  input: { kind: IncidentKind; subject: string; at: string; notify: readonly NewNotification[]; notify_at: string },
): Promise<Incident | null> {
  const at = toMs(input.at, 'at');
  const notifyAt = toMs(input.notify_at, 'notify_at');
  await db.query(LOCK_CONDITION, [input.kind, input.subject]);
  const open = (await db.query<IncidentRow>(SELECT_OPEN, [input.kind, input.subject])).rows[0];
  if (open === undefined) return null;
  await db.query(RESOLVE, [at, open.id]);
  await queue(db, open.id, 'incident.resolved', input.notify, at, notifyAt);
  return incidentFromRow({ ...open, state: 'resolved', resolved_at: at });
}

export async function updateIncidentRow(db: Db, id: string, summary: string, detail: IncidentDetail): Promise<boolean> {
  return (await db.query(UPDATE_TEXT, [pgText(summary), detailText(detail), id])).rowCount === 1;
}

/** Run inside a transaction. */
export async function renotifyIncidentRows(db: Db, id: string, at: string, notify: readonly NewNotification[]): Promise<boolean> {
  const atMs = toMs(at, 'at');
  if ((await db.query(SET_NOTIFIED, [atMs, id])).rowCount !== 1) return false;
  await queue(db, id, 'incident.renotify', notify, atMs, atMs);
  return true;
}

export async function getIncidentRow(db: Db, id: string): Promise<Incident | null> {
  const row = (await db.query<IncidentRow>(SELECT_INCIDENT, [id])).rows[0];
  return row === undefined ? null : incidentFromRow(row);
}

export async function listIncidentRows(db: Db, query: { open?: boolean; subject?: string; limit?: number }): Promise<Incident[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.open) where.push(`state = 'open'`);
  if (query.subject !== undefined) {
    params.push(query.subject);
    where.push(`subject = $${params.length}`);
  }
  params.push(incidentListLimit(query.limit));
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const text = `SELECT ${INCIDENT_COLUMNS} FROM incidents ${filter} ORDER BY id DESC LIMIT $${params.length}`;
  return (await db.query<IncidentRow>(text, params)).rows.map(incidentFromRow);
}

export async function listDueRows(db: Db, now: string, limit: number): Promise<OutboxEntry[]> {
  return (await db.query<OutboxRow>(SELECT_DUE, [toMs(now, 'now'), limit])).rows.map(outboxFromRow);
}

export async function incidentNotificationRows(db: Db, incidentId: string): Promise<OutboxEntry[]> {
  return (await db.query<OutboxRow>(SELECT_OF_INCIDENT, [incidentId])).rows.map(outboxFromRow);
}

export async function nextDueRow(db: Db): Promise<string | null> {
  return toIsoOrNull((await db.query<{ due: number | null }>(SELECT_NEXT_DUE)).rows[0]?.due ?? null);
}

export async function markSentRow(db: Db, id: string, at: string): Promise<boolean> {
  return (await db.query(MARK_SENT, [toMs(at, 'at'), id])).rowCount === 1;
}

export async function markFailedRow(db: Db, id: string, error: string, retryAt: string | null): Promise<void> {
  if (retryAt === null) await db.query(MARK_FAILED, [pgText(error), id]);
  else await db.query(MARK_RETRY, [pgText(error), toMs(retryAt, 'retry_at'), id]);
}

export async function backlogRows(db: Db): Promise<ChannelBacklog[]> {
  const { rows } = await db.query<BacklogRow>(BACKLOG);
  const backlog: ChannelBacklog[] = [];
  for (const row of rows) {
    const lastError = (await db.query<{ last_error: string }>(LAST_ERROR, [row.channel])).rows[0]?.last_error ?? null;
    backlog.push(backlogFromRow(row, lastError));
  }
  return backlog;
}

export async function pruneIncidentRows(db: Db, olderThan: string): Promise<number> {
  return (await db.query(PRUNE, [toMs(olderThan, 'olderThan')])).rowCount ?? 0;
}
