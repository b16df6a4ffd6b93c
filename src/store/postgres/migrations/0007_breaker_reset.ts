import type { Migration } from './index.ts';

/** Breaker resets: SQLite's 0007 in PostgreSQL DDL (see that file for why). BIGINT epoch ms, NULL: never reset. */
export const migration0007: Migration = {
  version: 7,
  name: 'breaker_reset',
  sql: `
ALTER TABLE breakers ADD COLUMN reset_at BIGINT;
`,
};
