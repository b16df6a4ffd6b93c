/**
 * SQLite rows: what both dialects share is in ../rows.ts; booleans are 0/1 here.
 */
import { holdFromRow, toIsoOrNull } from '../rows.ts';
import type { JobState } from '../types.ts';

export { toMs, toIso, toIsoOrNull, runFromRow, lockFromRow, type RunRow, type LockRow } from '../rows.ts';

export interface JobStateRow {
  job: string;
  paused: number;
  last_fire_at: number | null;
  hold: string | null;
  hold_reason: string | null;
  hold_since: number | null;
}

export function jobStateFromRow(row: JobStateRow): JobState {
  return { job: row.job, paused: row.paused !== 0, last_fire_at: toIsoOrNull(row.last_fire_at), hold: holdFromRow(row) };
}
