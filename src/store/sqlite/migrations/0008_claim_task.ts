import type { Migration } from './index.ts';

/**
 * No change in SQLite: PostgreSQL's 0008 installs its claim as one server-side function (a single writer needs none).
 * It is here so that both dialects keep the same numbered migrations (test/store/postgres-schema.test.ts).
 */
export const migration0008: Migration = {
  version: 8,
  name: 'claim_task',
  sql: `SELECT 1;`,
};
