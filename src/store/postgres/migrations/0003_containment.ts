import type { Migration } from './index.ts';

/**
 * Containment: SQLite's 0003 in PostgreSQL DDL — job holds, reported outputs and spend, breakers, a run's
 * Retry-After. `spend` is DOUBLE PRECISION (SQLite's REAL); `breakers.open` a BOOLEAN.
 */
export const migration0003: Migration = {
  version: 3,
  name: 'containment',
  sql: `
ALTER TABLE job_state ADD COLUMN hold TEXT CHECK (hold IS NULL OR hold IN ('halted', 'crash_loop'));
ALTER TABLE job_state ADD COLUMN hold_reason TEXT;
ALTER TABLE job_state ADD COLUMN hold_since BIGINT;
ALTER TABLE runs ADD COLUMN retry_after_at BIGINT;

CREATE TABLE outputs (
  id      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job     TEXT COLLATE "C" NOT NULL,
  run_id  TEXT,
  outputs INTEGER NOT NULL DEFAULT 0,
  spend   DOUBLE PRECISION NOT NULL DEFAULT 0,
  at      BIGINT  NOT NULL
);
CREATE INDEX outputs_job_at ON outputs (job, at);

CREATE TABLE breakers (
  name      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  open      BOOLEAN NOT NULL,
  reason    TEXT    NOT NULL,
  opened_at BIGINT  NOT NULL,
  detail    TEXT
);
`,
};
