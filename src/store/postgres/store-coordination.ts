/**
 * The PostgreSQL store's coordination methods (shared state, its audit log, what upstream freshness reads), attached
 * to PostgresStore like store-watch.ts. A state write is one transaction, serialised per key (state.ts).
 */
import type { CoordinationStore } from '../coordination-types.ts';
import type { StoreAccess } from './store-watch.ts';
import { getStateRow, jobActivityRow, listStateKeyRows, listStateLogRows, setQueuedDegradedRow, writeStateRows } from './state.ts';

export function coordinationMethods({ run, tx }: StoreAccess): CoordinationStore {
  return {
    getState: async (key) => run((db) => getStateRow(db, key)),
    setState: async (write) => tx((db) => writeStateRows(db, write)),
    listStateLog: async (key, limit) => run((db) => listStateLogRows(db, key, limit)),
    listStateKeys: async (limit) => run((db) => listStateKeyRows(db, limit)),
    jobActivity: async (job) => run((db) => jobActivityRow(db, job)),
    setQueuedRunDegraded: async (runId, degraded) => run((db) => setQueuedDegradedRow(db, runId, degraded)),
  };
}
