/** Task rows as both dialects store them (times in epoch ms, payload and result as JSON text), and their records. */
import { toIso, toIsoOrNull } from './rows.ts';
import type { Task, TaskState } from './task-types.ts';

export interface TaskRow {
  id: string;
  queue: string;
  payload: string;
  priority: number;
  run_at: number;
  key: string | null;
  state: string;
  attempt: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  run_id: string | null;
  claimed_by: string | null;
  last_error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
}

export const TASK_COLUMNS = `id, queue, payload, priority, run_at, key, state, attempt, lease_token, lease_expires_at, run_id,
  claimed_by, last_error, result, created_at, updated_at`;

export function taskFromRow(row: TaskRow): Task {
  return {
    id: row.id,
    queue: row.queue,
    payload: JSON.parse(row.payload) as unknown,
    priority: row.priority,
    run_at: toIso(row.run_at),
    key: row.key,
    // Written only through the typed stores; `state` is CHECK-constrained.
    state: row.state as TaskState,
    attempt: row.attempt,
    lease_token: row.lease_token,
    lease_expires_at: toIsoOrNull(row.lease_expires_at),
    run_id: row.run_id,
    claimed_by: row.claimed_by,
    last_error: row.last_error,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}
