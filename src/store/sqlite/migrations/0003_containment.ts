import type { Migration } from './index.ts';

/**
 * Containment (issue 5): a job's hold (halted after a start failure or a spent retry budget; crash_loop for a
 * service), outputs and spend reported by runs for breakers and spend budgets, the breakers themselves, and the
 * Retry-After a run asked for before exiting 75.
 *
 * - outputs is append-only and read by window: `outputs_job_at` serves "sum over the jobs of a group since T".
 *   Rows older than the longest window are pruned with the run history.
 * - breakers are one row per breaker (a job's own, or a named group), present only once opened.
 */
export const migration0003: Migration = {
  version: 3,
  name: 'containment',
  sql: `
ALTER TABLE job_state ADD COLUMN hold TEXT CHECK (hold IS NULL OR hold IN ('halted', 'crash_loop'));
ALTER TABLE job_state ADD COLUMN hold_reason TEXT;
ALTER TABLE job_state ADD COLUMN hold_since INTEGER;
ALTER TABLE runs ADD COLUMN retry_after_at INTEGER;

CREATE TABLE outputs (
  id      INTEGER PRIMARY KEY,
  job     TEXT    NOT NULL,
  run_id  TEXT,
  outputs INTEGER NOT NULL DEFAULT 0,
  spend   REAL    NOT NULL DEFAULT 0,
  at      INTEGER NOT NULL
);
CREATE INDEX outputs_job_at ON outputs (job, at);

CREATE TABLE breakers (
  name      TEXT    NOT NULL PRIMARY KEY,
  open      INTEGER NOT NULL CHECK (open IN (0, 1)),
  reason    TEXT    NOT NULL,
  opened_at INTEGER NOT NULL,
  detail    TEXT
);
`,
};
