/**
 * The SQLite store's coordination methods (shared state, its audit log, what upstream freshness reads), kept apart
 * from sqlite-store.ts like store-watch.ts. Writes run in IMMEDIATE transactions: the write lock is taken before the
 * version is read, so two writers of one key are serialised and a compare-and-set cannot lose an update.
 */
import type { CoordinationStore, JobActivity, StateEntry, StateLogEntry, StateWrite, StateWriteResult } from '../coordination-types.ts';
import type { StoreAccess } from './store-watch.ts';
import {
  getStateRow,
  jobActivityRow,
  listStateKeyRows,
  listStateLogRows,
  setQueuedDegradedRow,
  writeStateRows,
} from './state.ts';

export type CoordinationMethods = CoordinationStore;

export function coordinationMethods(db: StoreAccess): CoordinationMethods {
  return {
    async getState(key: string): Promise<StateEntry | null> {
      return db.run(() => getStateRow(db.sql, key));
    },

    async setState(write: StateWrite): Promise<StateWriteResult> {
      return db.run(() => db.tx(() => writeStateRows(db.sql, write)));
    },

    async listStateLog(key: string, limit: number): Promise<StateLogEntry[]> {
      return db.run(() => listStateLogRows(db.sql, key, limit));
    },

    async listStateKeys(limit: number): Promise<Array<Omit<StateEntry, 'value'>>> {
      return db.run(() => listStateKeyRows(db.sql, limit));
    },

    async jobActivity(job: string): Promise<JobActivity> {
      return db.run(() => jobActivityRow(db.sql, job));
    },

    async setQueuedRunDegraded(runId: string, degraded: string | null): Promise<boolean> {
      return db.run(() => setQueuedDegradedRow(db.sql, runId, degraded));
    },
  };
}
