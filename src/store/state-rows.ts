/** Shared-state rows as both dialects store them (times in epoch ms, values as JSON text), and the checks both make. */
import { StoreError } from './errors.ts';
import { toIso } from './rows.ts';
import type { StateEntry, StateLogEntry, StateWrite } from './coordination-types.ts';

export interface StateRow {
  key: string;
  value: string;
  version: number;
  updated_at: number;
  updated_by_job: string | null;
  updated_by_run: string | null;
}

export interface StateLogRow {
  key: string;
  version: number;
  value: string | null;
  size_bytes: number;
  job: string | null;
  run_id: string | null;
  at: number;
}

export const STATE_COLUMNS = `key, value, version, updated_at, updated_by_job, updated_by_run`;

export function entryOf(row: Omit<StateRow, 'value'>): Omit<StateEntry, 'value'> {
  return {
    key: row.key,
    version: row.version,
    updated_at: toIso(row.updated_at),
    updated_by_job: row.updated_by_job,
    updated_by_run: row.updated_by_run,
  };
}

export function logEntryOf(row: StateLogRow): StateLogEntry {
  return {
    key: row.key,
    version: row.version,
    value: row.value === null ? null : (JSON.parse(row.value) as unknown),
    value_kept: row.value !== null,
    size_bytes: row.size_bytes,
    job: row.job,
    run_id: row.run_id,
    at: toIso(row.at),
  };
}

/** Guards what TypeScript cannot: the steward validates for users; this keeps the table sane for any caller. */
export function checkWrite(write: StateWrite): void {
  if (write.key === '') throw new StoreError('invalid_argument', 'a state key must not be empty');
  if (write.expect_version != null && (!Number.isInteger(write.expect_version) || write.expect_version < 0)) {
    throw new StoreError('invalid_argument', `expect_version must be a whole number of 0 or more, got ${write.expect_version}`);
  }
  if (!Number.isInteger(write.log_keep) || write.log_keep < 1) {
    throw new StoreError('invalid_argument', `log_keep must be a whole number of 1 or more, got ${write.log_keep}`);
  }
  try {
    JSON.parse(write.value_json);
  } catch {
    throw new StoreError('invalid_argument', `the value of state key ${write.key} is not JSON text`);
  }
}

export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new StoreError('invalid_argument', `limit must be a non-negative integer, got ${limit}`);
}
