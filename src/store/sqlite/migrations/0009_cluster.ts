import type { Migration } from './index.ts';

/**
 * No change in SQLite: one SQLite file has one node, held by the instance lock (src/daemon/instance-lock.ts).
 * PostgreSQL's 0009 adds the nodes of a cluster. Here so both dialects keep the same numbered migrations.
 */
export const migration0009: Migration = {
  version: 9,
  name: 'cluster',
  sql: `SELECT 1;`,
};
