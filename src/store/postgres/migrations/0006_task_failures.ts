import type { Migration } from './index.ts';

/** Task failures: SQLite's 0006 in PostgreSQL DDL (see that file for why). Times are BIGINT epoch ms. */
export const migration0006: Migration = {
  version: 6,
  name: 'task_failures',
  sql: `
CREATE TABLE task_failures (
  id    BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue TEXT COLLATE "C" NOT NULL,
  at    BIGINT  NOT NULL
);
CREATE INDEX task_failures_queue_at ON task_failures (queue, at);
`,
};
