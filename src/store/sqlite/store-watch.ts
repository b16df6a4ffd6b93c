/**
 * The SQLite store's watching and containment methods (checks, pings, incidents, the outbox, holds, outputs,
 * breakers), kept apart from sqlite-store.ts to keep each file readable. Each is a thin step over the SQL modules
 * beside it, run through the store's own error translation (`run`) and IMMEDIATE transactions (`tx`).
 */
import type {
  BreakerRecord,
  ChannelBacklog,
  CheckRecord,
  CheckSpec,
  Incident,
  IncidentDetail,
  IncidentKind,
  JobHold,
  NewIncident,
  NewNotification,
  NewPing,
  OutboxEntry,
  Ping,
  PruneResult,
  WatchMethods,
} from '../types.ts';
import { isStoreError } from '../errors.ts';
import type { StatementCache } from './connection.ts';
import {
  createCheckRow,
  findCheckByUuidRow,
  getCheckRecord,
  listCheckRows,
  listPingRows,
  markCheckDownRow,
  recordPingRows,
  setCheckPausedRow,
  syncCheckRows,
} from './checks.ts';
import {
  backlogRows,
  getIncidentRow,
  listDueRows,
  listIncidentRows,
  markFailedRow,
  markSentRow,
  nextDueRow,
  incidentNotificationRows,
  openIncidentRows,
  pruneIncidentRows,
  renotifyIncidentRows,
  resolveIncidentRows,
  updateIncidentRow,
} from './incidents.ts';
import {
  breakerResetAtRow,
  closeBreakerRow,
  insertOutputRow,
  openBreakerRow,
  openBreakerRows,
  pruneOutputRows,
  setHoldRow,
  setRetryAfterRow,
  sumOutputRows,
} from './containment.ts';

export interface StoreAccess {
  sql: StatementCache;
  /** Runs one operation, translating SQLite's errors. */
  run<T>(operation: () => T): T;
  /** BEGIN IMMEDIATE … COMMIT. */
  tx<T>(body: () => T): T;
}

export type { WatchMethods };

export function watchMethods(db: StoreAccess): WatchMethods {
  return {
    // Containment (containment.ts)

    async setJobHold(job: string, hold: JobHold | null): Promise<void> {
      db.run(() => setHoldRow(db.sql, job, hold));
    },

    async setRunRetryAfter(runId: string, at: string): Promise<boolean> {
      return db.run(() => setRetryAfterRow(db.sql, runId, at));
    },

    async recordOutput(entry: { job: string; run_id: string | null; outputs: number; spend: number; at: string }): Promise<void> {
      db.run(() => insertOutputRow(db.sql, entry));
    },

    async sumOutputs(jobs: readonly string[], since: string): Promise<{ outputs: number; spend: number }> {
      return db.run(() => sumOutputRows(db.sql, jobs, since));
    },

    async openBreaker(breaker: BreakerRecord): Promise<boolean> {
      return db.run(() => openBreakerRow(db.sql, breaker));
    },

    async closeBreaker(name: string, at: string): Promise<boolean> {
      return db.run(() => closeBreakerRow(db.sql, name, at));
    },

    async breakerResetAt(name: string): Promise<string | null> {
      return db.run(() => breakerResetAtRow(db.sql, name));
    },

    async listOpenBreakers(): Promise<BreakerRecord[]> {
      return db.run(() => openBreakerRows(db.sql));
    },

    async pruneOutputs(olderThan: string): Promise<PruneResult> {
      return db.run(() => ({ deleted: pruneOutputRows(db.sql, olderThan) }));
    },

    // Checks and pings (checks.ts)

    async syncChecks(wanted: readonly CheckSpec[], now: string, newUuid: () => string): Promise<CheckRecord[]> {
      return db.run(() =>
        db.tx(() => {
          syncCheckRows(db.sql, wanted, now, newUuid);
          return listCheckRows(db.sql);
        }),
      );
    },

    async listChecks(): Promise<CheckRecord[]> {
      return db.run(() => listCheckRows(db.sql));
    },

    async getCheck(name: string): Promise<CheckRecord | null> {
      return db.run(() => getCheckRecord(db.sql, name));
    },

    async findCheckByUuid(uuid: string): Promise<CheckRecord | null> {
      return db.run(() => findCheckByUuidRow(db.sql, uuid));
    },

    async createCheck(input: { name: string; uuid: string; every_ms: number; grace_ms: number; at: string }): Promise<CheckRecord> {
      return db.run(() => db.tx(() => createCheckRow(db.sql, input)));
    },

    async recordPing(ping: NewPing): Promise<{ before: CheckRecord; after: CheckRecord; ping: Ping }> {
      return db.run(() => db.tx(() => recordPingRows(db.sql, ping)));
    },

    async recordPings(pings: readonly NewPing[]): Promise<Array<{ before: CheckRecord; after: CheckRecord; ping: Ping } | null>> {
      return db.run(() =>
        db.tx(() =>
          pings.map((ping) => {
            try {
              return recordPingRows(db.sql, ping);
            } catch (error) {
              // An unknown check fails before anything of its own is written; the others go on.
              if (isStoreError(error, 'not_found')) return null;
              throw error;
            }
          }),
        ),
      );
    },

    async listPings(check: string, limit: number): Promise<Ping[]> {
      return db.run(() => listPingRows(db.sql, check, limit));
    },

    async markCheckDown(name: string, since: string): Promise<CheckRecord | null> {
      return db.run(() => markCheckDownRow(db.sql, name, since));
    },

    async setCheckPaused(name: string, paused: boolean, at: string): Promise<CheckRecord> {
      return db.run(() => db.tx(() => setCheckPausedRow(db.sql, name, paused, at)));
    },

    // Incidents and the outbox (incidents.ts)

    async openIncident(input: NewIncident): Promise<{ incident: Incident; outcome: 'opened' | 'already_open' | 'reopened' }> {
      return db.run(() => db.tx(() => openIncidentRows(db.sql, input)));
    },

    async updateIncident(id: string, summary: string, detail: IncidentDetail): Promise<boolean> {
      return db.run(() => updateIncidentRow(db.sql, id, summary, detail));
    },

    async resolveIncident(input: {
      kind: IncidentKind;
      subject: string;
      at: string;
      notify: readonly NewNotification[];
      notify_at: string;
    }): Promise<Incident | null> {
      return db.run(() => db.tx(() => resolveIncidentRows(db.sql, input)));
    },

    async renotifyIncident(id: string, at: string, notify: readonly NewNotification[]): Promise<boolean> {
      return db.run(() => db.tx(() => renotifyIncidentRows(db.sql, id, at, notify)));
    },

    async getIncident(id: string): Promise<Incident | null> {
      return db.run(() => getIncidentRow(db.sql, id));
    },

    async listIncidents(query: { open?: boolean; subject?: string; limit?: number }): Promise<Incident[]> {
      return db.run(() => listIncidentRows(db.sql, query));
    },

    async listDueNotifications(now: string, limit: number): Promise<OutboxEntry[]> {
      return db.run(() => listDueRows(db.sql, now, limit));
    },

    async nextNotificationDue(): Promise<string | null> {
      return db.run(() => nextDueRow(db.sql));
    },

    async listNotifications(incidentId: string): Promise<OutboxEntry[]> {
      return db.run(() => incidentNotificationRows(db.sql, incidentId));
    },

    async markNotificationSent(id: string, at: string): Promise<boolean> {
      return db.run(() => markSentRow(db.sql, id, at));
    },

    async markNotificationFailed(id: string, error: string, retry_at: string | null): Promise<void> {
      db.run(() => markFailedRow(db.sql, id, error, retry_at));
    },

    async outboxSummary(): Promise<ChannelBacklog[]> {
      return db.run(() => backlogRows(db.sql));
    },

    async pruneIncidents(olderThan: string): Promise<PruneResult> {
      return db.run(() => ({ deleted: pruneIncidentRows(db.sql, olderThan) }));
    }
  };
}
