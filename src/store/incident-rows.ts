/**
 * Incident and outbox rows, shared by both dialects: the row shapes, the row→record mapping, and the pieces of the
 * rules that need no SQL (a new incident's row, a flap's detail, a list's limit). An incident's detail is stored as
 * JSON text in both. What differs stays in each dialect's incidents.ts: the SQL, PostgreSQL's advisory lock, and its
 * NUL handling of free text (a summary, an error).
 */
import { StoreError } from './errors.ts';
import { toIso, toIsoOrNull } from './rows.ts';
import type { ChannelBacklog, Incident, IncidentDetail, IncidentKind, NewIncident, NotificationEvent, OutboxEntry } from './types.ts';

export interface IncidentRow {
  id: string;
  kind: string;
  subject: string;
  state: string;
  opened_at: number;
  resolved_at: number | null;
  summary: string;
  detail: string;
  last_notified_at: number;
}

export interface OutboxRow {
  id: string;
  incident_id: string;
  channel: string;
  event: string;
  created_at: number;
  due_at: number;
  attempts: number;
  last_error: string | null;
  state: string;
  sent_at: number | null;
}

/** One channel's line of the backlog query; its last error is read apart (see `backlogFromRow`). */
export interface BacklogRow {
  channel: string;
  pending: number;
  attempts: number;
  oldest_at: number | null;
  failed: number;
}

export function incidentFromRow(row: IncidentRow): Incident {
  return {
    id: row.id,
    // Written only through this typed store.
    kind: row.kind as IncidentKind,
    subject: row.subject,
    state: row.state as Incident['state'],
    opened_at: toIso(row.opened_at),
    resolved_at: toIsoOrNull(row.resolved_at),
    summary: row.summary,
    detail: JSON.parse(row.detail) as IncidentDetail,
    last_notified_at: toIso(row.last_notified_at),
  };
}

export function outboxFromRow(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    incident_id: row.incident_id,
    channel: row.channel,
    event: row.event as NotificationEvent,
    created_at: toIso(row.created_at),
    due_at: toIso(row.due_at),
    attempts: row.attempts,
    last_error: row.last_error,
    state: row.state as OutboxEntry['state'],
    sent_at: toIsoOrNull(row.sent_at),
  };
}

export function backlogFromRow(row: BacklogRow, lastError: string | null): ChannelBacklog {
  return {
    channel: row.channel,
    pending: row.pending,
    attempts: row.attempts,
    last_error: lastError,
    oldest_at: toIsoOrNull(row.oldest_at),
    failed: row.failed,
  };
}

/**
 * The stored text of a detail. JSON.stringify escapes NUL as the six characters \u0000, so PostgreSQL's text column
 * takes any detail as it is.
 */
export function detailText(detail: IncidentDetail): string {
  return JSON.stringify(detail);
}

/** The row of an incident opened at `at` (ms); the dialect stores `summary` as its text column allows. */
export function newIncidentRow(input: NewIncident, at: number): IncidentRow {
  return {
    id: input.id,
    kind: input.kind,
    subject: input.subject,
    state: 'open',
    opened_at: at,
    resolved_at: null,
    summary: input.summary,
    detail: detailText(input.detail),
    last_notified_at: at,
  };
}

/** The stored detail of `latest` when a flap reopens it: the same detail, one more flap counted. */
export function flappedDetailText(latest: IncidentRow): string {
  const detail = JSON.parse(latest.detail) as IncidentDetail;
  return detailText({ ...detail, flaps: (detail.flaps ?? 0) + 1 });
}

/** `listIncidents`' limit: 100 when not given, else a positive integer. */
export function incidentListLimit(limit: number | undefined): number {
  const checked = limit ?? 100;
  if (!Number.isInteger(checked) || checked < 1) throw new StoreError('invalid_argument', `limit must be a positive integer, got ${checked}`);
  return checked;
}
