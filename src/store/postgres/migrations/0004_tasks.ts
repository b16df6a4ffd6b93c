import type { Migration } from './index.ts';

/**
 * Task queues: SQLite's 0004 in PostgreSQL DDL (see that file for why each index exists). Times are BIGINT epoch ms;
 * payload and result are JSON text (not JSONB: the value a worker gets back is the text it enqueued, key order and
 * number spelling included). task_claims.id is an identity column.
 */
export const migration0004: Migration = {
  version: 4,
  name: 'tasks',
  sql: `
CREATE TABLE tasks (
  id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  queue            TEXT COLLATE "C" NOT NULL,
  payload          TEXT    NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           BIGINT  NOT NULL,
  key              TEXT,
  state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
  attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  lease_token      TEXT,
  lease_expires_at BIGINT,
  run_id           TEXT,
  claimed_by       TEXT,
  last_error       TEXT,
  result           TEXT,
  created_at       BIGINT  NOT NULL,
  updated_at       BIGINT  NOT NULL
);
CREATE INDEX tasks_claim ON tasks (queue, state, priority DESC, run_at, id);
CREATE INDEX tasks_lease ON tasks (state, lease_expires_at);
CREATE UNIQUE INDEX tasks_key ON tasks (queue, key) WHERE key IS NOT NULL;
CREATE INDEX tasks_run ON tasks (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE task_claims (
  id    BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue TEXT COLLATE "C" NOT NULL,
  at    BIGINT  NOT NULL
);
CREATE INDEX task_claims_queue_at ON task_claims (queue, at);

CREATE TABLE queue_state (
  queue        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  paused_until BIGINT,
  pause_reason TEXT
);
`,
};
