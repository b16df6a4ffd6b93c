/**
 * The PostgreSQL store's watching and containment methods (checks, pings, incidents, the outbox, holds, outputs,
 * breakers), kept apart from postgres-store.ts to keep each file readable. Each is a thin step over the SQL modules
 * beside it, run through the store's error translation (`run`, on the pool) or in one transaction (`tx`).
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
import type { Db } from './connection.ts';
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
  setRetryAfterRow,
  sumOutputRows,
} from './containment.ts';
import { setHoldRow } from './job-state.ts';

export interface StoreAccess {
  /** Runs one operation on the pool (autocommit), translating PostgreSQL's errors. */
  run<T>(operation: (db: Db) => Promise<T>): Promise<T>;
  /** Runs `body` in BEGIN … COMMIT on one client, translating errors. */
  tx<T>(body: (db: Db) => Promise<T>): Promise<T>;
}

export type { WatchMethods };

export function watchMethods(access: StoreAccess): WatchMethods {
  const { run, tx } = access;
  return {
    // Containment

    async setJobHold(job: string, hold: JobHold | null): Promise<void> {
      await run((db) => setHoldRow(db, job, hold));
    },

    async setRunRetryAfter(runId: string, at: string): Promise<boolean> {
      return run((db) => setRetryAfterRow(db, runId, at));
    },

    async recordOutput(entry: { job: string; run_id: string | null; outputs: number; spend: number; at: string }): Promise<void> {
      await run((db) => insertOutputRow(db, entry));
    },

    async sumOutputs(jobs: readonly string[], since: string): Promise<{ outputs: number; spend: number }> {
      return run((db) => sumOutputRows(db, jobs, since));
    },

    async openBreaker(breaker: BreakerRecord): Promise<boolean> {
      return run((db) => openBreakerRow(db, breaker));
    },

    async closeBreaker(name: string, at: string): Promise<boolean> {
      return run((db) => closeBreakerRow(db, name, at));
    },

    async breakerResetAt(name: string): Promise<string | null> {
      return run((db) => breakerResetAtRow(db, name));
    },

    async listOpenBreakers(): Promise<BreakerRecord[]> {
      return run((db) => openBreakerRows(db));
    },

    async pruneOutputs(olderThan: string): Promise<PruneResult> {
      return run(async (db) => ({ deleted: await pruneOutputRows(db, olderThan) }));
    },

    // Checks and pings

    async syncChecks(wanted: readonly CheckSpec[], now: string, newUuid: () => string): Promise<CheckRecord[]> {
      return tx(async (db) => {
        await syncCheckRows(db, wanted, now, newUuid);
        return listCheckRows(db);
      });
    },

    async listChecks(): Promise<CheckRecord[]> {
      return run((db) => listCheckRows(db));
    },

    async getCheck(name: string): Promise<CheckRecord | null> {
      return run((db) => getCheckRecord(db, name));
    },

    async findCheckByUuid(uuid: string): Promise<CheckRecord | null> {
      return run((db) => findCheckByUuidRow(db, uuid));
    },

    async createCheck(input: { name: string; uuid: string; every_ms: number; grace_ms: number; at: string }): Promise<CheckRecord> {
      return run((db) => createCheckRow(db, input));
    },

    async recordPing(ping: NewPing): Promise<{ before: CheckRecord; after: CheckRecord; ping: Ping }> {
      return tx((db) => recordPingRows(db, ping));
    },

    async recordPings(pings: readonly NewPing[]): Promise<Array<{ before: CheckRecord; after: CheckRecord; ping: Ping } | null>> {
      return tx(async (db) => {
        const results: Array<{ before: CheckRecord; after: CheckRecord; ping: Ping } | null> = [];
        for (const ping of pings) {
          try {
            results.push(await recordPingRows(db, ping));
          } catch (error) {
            // An unknown check is found by a SELECT that writes nothing (no SQL error, so the transaction goes on).
            if (!isStoreError(error, 'not_found')) throw error;
            results.push(null);
          }
        }
        return results;
      });
    },

    async listPings(check: string, limit: number): Promise<Ping[]> {
      return run((db) => listPingRows(db, check, limit));
    },

    async markCheckDown(name: string, since: string): Promise<CheckRecord | null> {
      return run((db) => markCheckDownRow(db, name, since));
    },

    async setCheckPaused(name: string, paused: boolean, at: string): Promise<CheckRecord> {
      return tx((db) => setCheckPausedRow(db, name, paused, at));
    },

    // Incidents and the outbox

    async openIncident(input: NewIncident): Promise<{ incident: Incident; outcome: 'opened' | 'already_open' | 'reopened' }> {
      return tx((db) => openIncidentRows(db, input));
    },

    async updateIncident(id: string, summary: string, detail: IncidentDetail): Promise<boolean> {
      return run((db) => updateIncidentRow(db, id, summary, detail));
    },

    async resolveIncident(input: {
      kind: IncidentKind;
      subject: string;
      at: string;
      notify: readonly NewNotification[];
      notify_at: string;
    }): Promise<Incident | null> {
      return tx((db) => resolveIncidentRows(db, input));
    },

    async renotifyIncident(id: string, at: string, notify: readonly NewNotification[]): Promise<boolean> {
      return tx((db) => renotifyIncidentRows(db, id, at, notify));
    },

    async getIncident(id: string): Promise<Incident | null> {
      return run((db) => getIncidentRow(db, id));
    },

    async listIncidents(query: { open?: boolean; subject?: string; limit?: number }): Promise<Incident[]> {
      return run((db) => listIncidentRows(db, query));
    },

    async listDueNotifications(now: string, limit: number): Promise<OutboxEntry[]> {
      return run((db) => listDueRows(db, now, limit));
    },

    async nextNotificationDue(): Promise<string | null> {
      return run((db) => nextDueRow(db));
    },

    async listNotifications(incidentId: string): Promise<OutboxEntry[]> {
      return run((db) => incidentNotificationRows(db, incidentId));
    },

    async markNotificationSent(id: string, at: string): Promise<boolean> {
      return run((db) => markSentRow(db, id, at));
    },

    async markNotificationFailed(id: string, error: string, retry_at: string | null): Promise<void> {
      await run((db) => markFailedRow(db, id, error, retry_at));
    },

    async outboxSummary(): Promise<ChannelBacklog[]> {
      return run((db) => backlogRows(db));
    },

    async pruneIncidents(olderThan: string): Promise<PruneResult> {
      return run(async (db) => ({ deleted: await pruneIncidentRows(db, olderThan) }));
    },
  };
}
