/**
 * The store's records for watching and alerting (issue 4): checks and pings, incidents, the notification outbox.
 * Part of the Store contract in types.ts (which re-exports all of this); kept apart to keep each file readable.
 */
import type { Store } from './types.ts';

/** Healthchecks.io's check states. `grace` and `started` are worked out from the record and the clock. */
export const CHECK_STATES = ['new', 'up', 'grace', 'down', 'paused', 'started'] as const;
export type CheckState = (typeof CHECK_STATES)[number];
/** What the store records; `grace` and `started` are derived (src/watch/check-state.ts). */
export type StoredCheckStatus = 'new' | 'up' | 'down' | 'paused';

/** `job`: owned by a scheduled job; `config`: under `checks:`; `created`: made by a ping with `?create=1`. */
export type CheckOrigin = 'job' | 'config' | 'created';

export interface CheckRecord {
  /** The job's name, the name under `checks:`, or the slug a `?create=1` ping used. Also the check's slug. */
  name: string;
  uuid: string;
  origin: CheckOrigin;
  status: StoredCheckStatus;
  created_at: string;
  last_ping_at: string | null;
  /** The last success (or exit 0) ping; the moment the next due time counts from. */
  last_success_at: string | null;
  /** The last start ping not yet followed by its end; null when none is open. */
  last_start_at: string | null;
  last_start_rid: string | null;
  /** When the check last went down (null while it is not down). */
  down_since: string | null;
  /** When it was last resumed after a pause; its next due time counts from here when that is later than a success. */
  resumed_at: string | null;
  /** A created check's own period and grace (config and job checks take theirs from the config); null otherwise. */
  every_ms: number | null;
  grace_ms: number | null;
}

export const PING_KINDS = ['start', 'success', 'fail', 'log', 'exit'] as const;
export type PingKind = (typeof PING_KINDS)[number];

export interface Ping {
  kind: PingKind;
  exit_code: number | null;
  rid: string | null;
  body: string | null;
  created_at: string;
  /** For an end ping paired with its start (by rid, else the last open start): the time between them. */
  duration_ms: number | null;
}

export interface NewPing {
  check: string;
  kind: PingKind;
  exit_code: number | null;
  rid: string | null;
  body: string | null;
  at: string;
  /** Keep at most this many pings per check (the oldest go); Healthchecks.io keeps 100. */
  keep: number;
}

export const INCIDENT_KINDS = [
  'job_late',
  'late_start',
  'check_down',
  'run_failed',
  'crash_loop',
  'start_failure',
  'stalled',
  'breaker_open',
  'budget_exhausted',
  'memory',
  'long_run',
  'process.duplicate',
  'disk_low',
  'channel_failing',
  'daemon',
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** What a human needs beyond the one-line summary; every field but `fix` only where it applies. */
export interface IncidentDetail {
  /** What to do about it, in one or two sentences. */
  fix: string;
  /** When the condition began (may precede opened_at, e.g. a check due while the daemon was down). */
  since?: string;
  run_id?: string;
  exit_code?: number | null;
  exit_codes?: number[];
  /** The last lines the run wrote to stderr, oldest first. */
  stderr_tail?: string[];
  last_ping?: { kind: PingKind; at: string; exit_code: number | null; body: string | null } | null;
  /** The PATH a job had, for start failures. */
  path?: string;
  /** How many times the condition cleared and came back while the incident stayed open (flap damping). */
  flaps?: number;
  [extra: string]: unknown;
}

export interface Incident {
  id: string;
  kind: IncidentKind;
  /** The job or check name, or `host` / `daemon`. */
  subject: string;
  state: 'open' | 'resolved';
  opened_at: string;
  resolved_at: string | null;
  summary: string;
  detail: IncidentDetail;
  /** When a notification for it was last queued (opened or renotify): renotify counts from here. */
  last_notified_at: string;
}

export type NotificationEvent = 'incident.opened' | 'incident.resolved' | 'incident.renotify';

/** One message to one channel, in the outbox from before it is sent until it is delivered or given up. */
export interface OutboxEntry {
  id: string;
  incident_id: string;
  channel: string;
  event: NotificationEvent;
  created_at: string;
  /** Not sent before this (retry backoff, or flap damping for a recovery). */
  due_at: string;
  attempts: number;
  last_error: string | null;
  state: 'pending' | 'sent' | 'cancelled' | 'failed';
  sent_at: string | null;
}

export interface CheckSpec {
  name: string;
  origin: 'job' | 'config';
  /** Fixed in the config, or null to generate one once. */
  uuid: string | null;
}

export interface NewNotification {
  id: string;
  channel: string;
}

export interface NewIncident {
  id: string;
  kind: IncidentKind;
  subject: string;
  summary: string;
  detail: IncidentDetail;
  at: string;
  /** One entry per channel, queued as `incident.opened` due at `at`. */
  notify: readonly NewNotification[];
}

export interface ChannelBacklog {
  channel: string;
  /** Pending entries. */
  pending: number;
  /** Failed attempts of the pending entry that has failed most. */
  attempts: number;
  /** That entry's last error. */
  last_error: string | null;
  /** When the oldest pending entry was queued. */
  oldest_at: string | null;
  /** Entries given up on (never delivered). */
  failed: number;
}

/** The Store's watching and containment methods, which each dialect implements in its own store-watch.ts. */
export type WatchMethods = Pick<
  Store,
  | 'setJobHold'
  | 'setRunRetryAfter'
  | 'recordOutput'
  | 'sumOutputs'
  | 'openBreaker'
  | 'closeBreaker'
  | 'breakerResetAt'
  | 'listOpenBreakers'
  | 'pruneOutputs'
  | 'syncChecks'
  | 'listChecks'
  | 'getCheck'
  | 'findCheckByUuid'
  | 'createCheck'
  | 'recordPing'
  | 'recordPings'
  | 'listPings'
  | 'markCheckDown'
  | 'setCheckPaused'
  | 'openIncident'
  | 'updateIncident'
  | 'resolveIncident'
  | 'renotifyIncident'
  | 'getIncident'
  | 'listIncidents'
  | 'listDueNotifications'
  | 'nextNotificationDue'
  | 'listNotifications'
  | 'markNotificationSent'
  | 'markNotificationFailed'
  | 'outboxSummary'
  | 'pruneIncidents'
>;
