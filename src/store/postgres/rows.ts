/**
 * PostgreSQL rows: what both dialects share is in ../rows.ts; booleans are real booleans here.
 */
import { holdFromRow, toIsoOrNull } from '../rows.ts';
import type { JobState } from '../types.ts';

export { toMs, toIso, toIsoOrNull, runFromRow, lockFromRow, holdFromRow, type RunRow, type LockRow } from '../rows.ts';

export interface JobStateRow {
  job: string;
  paused: boolean;
  last_fire_at: number | null;
  hold: string | null;
  hold_reason: string | null;
  hold_since: number | null;
}

/**
 * PostgreSQL text cannot hold a NUL character (SQLite can), and a ping body or an error message is whatever a
 * program wrote; NUL becomes U+FFFD rather than failing the write.
 */
export function pgText(value: string): string;
export function pgText(value: string | null): string | null;
export function pgText(value: string | null): string | null {
  return value === null || !value.includes('\u0000') ? value : value.replaceAll('\u0000', '\uFFFD');
}

export function jobStateFromRow(row: JobStateRow): JobState {
  return { job: row.job, paused: row.paused, last_fire_at: toIsoOrNull(row.last_fire_at), hold: holdFromRow(row) };
}
