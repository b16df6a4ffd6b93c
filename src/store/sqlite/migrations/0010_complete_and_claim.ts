import type { Migration } from './index.ts';

/**
 * No change in SQLite: PostgreSQL's 0010 installs the complete-and-claim as one server-side function and a leaner
 * claim; a single writer does both in one transaction without one. Here to keep both dialects' numbering identical.
 */
export const migration0010: Migration = {
  version: 10,
  name: 'complete_and_claim',
  sql: `SELECT 1;`,
};
