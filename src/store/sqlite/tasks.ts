/**
 * Task rows (issue 7). Synchronous steps; store-tasks.ts runs each inside the IMMEDIATE transaction that needs it, so
 * a claim's reading (is the queue paused, full, past its rate; which task is best) and its writing cannot interleave
 * with another process's claim on the same file.
 */
import { StoreError } from '../errors.ts';
import type {
  ClaimRequest,
  ClaimResult,
  NewTask,
  QueueBudget,
  QueueCounts,
  QueueState,
  Task,
  TaskFence,
  TaskListQuery,
  TaskRelease,
  TaskState,
  TaskStepResult,
} from '../task-types.ts';
import type { StatementCache } from './connection.ts';
import { TASK_COLUMNS, taskFromRow, type TaskRow } from '../task-rows.ts';
import { toIsoOrNull, toMs } from './rows.ts';


const COLUMNS = TASK_COLUMNS;

const SELECT_TASK = `SELECT ${COLUMNS} FROM tasks WHERE id = ?`;
const SELECT_BY_KEY = `SELECT ${COLUMNS} FROM tasks WHERE queue = ? AND key = ?`;
const INSERT_TASK = `INSERT INTO tasks (id, queue, payload, priority, run_at, key, state, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`;
/** The claim's pick: walks tasks_queued in order and stops at the first due task. */
const PICK_TASK = `SELECT id FROM tasks INDEXED BY tasks_queued
  WHERE queue = ? AND state = 'queued' AND run_at <= ? ORDER BY priority DESC, run_at, id LIMIT 1`;
/** The same pick while the retry budget is spent: first attempts only. */
const PICK_FIRST = `SELECT id FROM tasks INDEXED BY tasks_queued
  WHERE queue = ? AND state = 'queued' AND run_at <= ? AND attempt = 0 ORDER BY priority DESC, run_at, id LIMIT 1`;
const NEXT_QUEUED = `SELECT min(run_at) AS at FROM tasks WHERE queue = ? AND state = 'queued'`;
/** The next first attempt and the next retry, apart: a spent budget holds only the retries. */
const NEXT_QUEUED_SPLIT = `SELECT min(CASE WHEN attempt = 0 THEN run_at END) AS first, min(CASE WHEN attempt > 0 THEN run_at END) AS retry
  FROM tasks WHERE queue = ? AND state = 'queued'`;
const COUNT_RUNNING = `SELECT count(*) AS n, min(lease_expires_at) AS next FROM tasks WHERE queue = ? AND state = 'running'`;
const COUNT_CLAIMS = `SELECT count(*) AS n FROM task_claims WHERE queue = ? AND at > ?`;
const NTH_CLAIM = `SELECT at FROM task_claims WHERE queue = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?`;
const INSERT_CLAIM = `INSERT INTO task_claims (queue, at) VALUES (?, ?)`;
const COUNT_FAILURES = `SELECT count(*) AS n FROM task_failures WHERE queue = ? AND at > ?`;
const NTH_FAILURE = `SELECT at FROM task_failures WHERE queue = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?`;
const INSERT_FAILURE = `INSERT INTO task_failures (queue, at) VALUES (?, ?)`;
const MARK_CLAIMED = `UPDATE tasks SET state = 'running', attempt = attempt + 1, lease_token = ?, lease_expires_at = ?,
  run_id = ?, claimed_by = ?, updated_at = ? WHERE id = ?`;
/** Lapsed leases: back to the queue, due now, or to the dead letter once the retries are spent. */
const REAP_QUEUE = `UPDATE tasks SET state = CASE WHEN attempt > ? THEN 'dead' ELSE 'queued' END, run_at = ?,
  lease_token = NULL, lease_expires_at = NULL, last_error = ?, updated_at = ?
  WHERE queue = ? AND state = 'running' AND lease_expires_at IS NOT NULL AND lease_expires_at < ?
  RETURNING ${COLUMNS}`;
const LAPSED_QUEUES = `SELECT DISTINCT queue FROM tasks INDEXED BY tasks_running
  WHERE state = 'running' AND lease_expires_at IS NOT NULL AND lease_expires_at < ?`;
const NEXT_EXPIRY = `SELECT min(lease_expires_at) AS at FROM tasks INDEXED BY tasks_running
  WHERE state = 'running' AND lease_expires_at IS NOT NULL`;
const SET_LEASE = `UPDATE tasks SET lease_expires_at = ?, updated_at = ? WHERE id = ?`;
const COMPLETE = `UPDATE tasks SET state = 'done', result = ?, lease_token = NULL, lease_expires_at = NULL, updated_at = ?
  WHERE id = ?`;
const RELEASE = `UPDATE tasks SET state = ?, run_at = ?, attempt = attempt - ?, lease_token = NULL, lease_expires_at = NULL,
  last_error = coalesce(?, last_error), updated_at = ? WHERE id = ?`;
const BIND = `UPDATE tasks SET run_id = ?, lease_expires_at = NULL, updated_at = ?
  WHERE id = ? AND state = 'running' AND lease_token = ?`;
const REQUEUE = `UPDATE tasks SET state = 'queued', attempt = 0, run_at = ?, lease_token = NULL, lease_expires_at = NULL,
  updated_at = ? WHERE id = ? AND state IN ('dead', 'done') RETURNING ${COLUMNS}`;
const COUNTS = `SELECT queue, state, count(*) AS n FROM tasks GROUP BY queue, state ORDER BY queue`;
const SELECT_QUEUE_STATE = `SELECT queue, paused_until, pause_reason FROM queue_state WHERE queue = ?`;
const PAUSE = `INSERT INTO queue_state (queue, paused_until, pause_reason) VALUES (?, ?, ?)
  ON CONFLICT (queue) DO UPDATE SET paused_until = excluded.paused_until, pause_reason = excluded.pause_reason
  WHERE queue_state.paused_until IS NULL OR queue_state.paused_until < excluded.paused_until`;
const PRUNE_DONE = `DELETE FROM tasks WHERE state = 'done' AND updated_at < ?`;
const PRUNE_CLAIMS = `DELETE FROM task_claims WHERE at < ?`;
const PRUNE_FAILURES = `DELETE FROM task_failures WHERE at < ?`;

/** What a lapsed lease leaves as the task's last error. */
export const LEASE_LAPSED = 'lease expired: the worker neither completed, failed nor extended it in time';

export function insertTaskRow(sql: StatementCache, task: NewTask): { task: Task; duplicate: boolean } {
  if (task.key !== null) {
    const existing = sql.get<[string, string], TaskRow>(SELECT_BY_KEY).get(task.queue, task.key);
    if (existing !== undefined) return { task: taskFromRow(existing), duplicate: true };
  }
  const runAt = toMs(task.run_at, 'run_at');
  const createdAt = toMs(task.created_at, 'created_at');
  sql
    .get<[string, string, string, number, number, string | null, number, number]>(INSERT_TASK)
    .run(task.id, task.queue, task.payload_json, task.priority, runAt, task.key, createdAt, createdAt);
  return { task: requireTask(sql, task.id), duplicate: false };
}

export function claimTaskRows(sql: StatementCache, request: ClaimRequest): ClaimResult {
  const { queue, limits } = request;
  const now = toMs(request.now, 'now');
  reapQueue(sql, queue, limits.retries, now);

  const paused = sql.get<[string], { paused_until: number | null }>(SELECT_QUEUE_STATE).get(queue)?.paused_until ?? null;
  if (paused !== null && paused > now) return blocked('paused', paused);

  const running = sql.get<[string], { n: number; next: number | null }>(COUNT_RUNNING).get(queue)!;
  // A lease lapses the moment after it expires (it is held through its expiry instant).
  if (running.n >= limits.concurrency) return blocked('concurrency', running.next === null ? null : running.next + 1);

  if (limits.rate !== null) {
    const since = now - limits.rate.perMs;
    const inWindow = sql.get<[string, number], { n: number }>(COUNT_CLAIMS).get(queue, since)!.n;
    if (inWindow >= limits.rate.count) {
      // The claim whose leaving the window frees a slot: claims count while `at > now - perMs`.
      const freeing = sql.get<[string, number, number], { at: number }>(NTH_CLAIM).get(queue, since, inWindow - limits.rate.count);
      return blocked('rate', freeing === undefined ? null : freeing.at + limits.rate.perMs);
    }
  }

  // A spent retry budget holds the retries back (they wait, unburned), not new work.
  const budgetFrees = limits.budget === null ? null : budgetExhaustedUntil(sql, queue, limits.budget, now);
  const picked = sql.get<[string, number], { id: string }>(budgetFrees === null ? PICK_TASK : PICK_FIRST).get(queue, now);
  if (picked === undefined) {
    if (budgetFrees === null) return blocked('empty', sql.get<[string], { at: number | null }>(NEXT_QUEUED).get(queue)?.at ?? null);
    const next = sql.get<[string], { first: number | null; retry: number | null }>(NEXT_QUEUED_SPLIT).get(queue)!;
    const retryAt = next.retry === null ? null : Math.max(next.retry, budgetFrees);
    return blocked(next.retry !== null && next.retry <= now ? 'budget' : 'empty', earliest(next.first, retryAt));
  }
  const leaseExpires = request.lease_ms === null ? null : now + checkLease(request.lease_ms);
  sql
    .get<[string, number | null, string | null, string, number, string]>(MARK_CLAIMED)
    .run(request.lease_token, leaseExpires, request.run_id, request.claimed_by, now, picked.id);
  if (limits.rate !== null) sql.get<[string, number]>(INSERT_CLAIM).run(queue, now);
  return { task: requireTask(sql, picked.id), blocked: null, retry_at: null };
}

function blocked(why: Exclude<ClaimResult['blocked'], null>, retryAtMs: number | null): ClaimResult {
  return { task: null, blocked: why, retry_at: retryAtMs === null ? null : new Date(retryAtMs).toISOString() };
}

const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** When the budget lets a retry through again (the failure whose leaving the window frees one); null: it does now. */
function budgetExhaustedUntil(sql: StatementCache, queue: string, budget: { count: number; perMs: number }, now: number): number | null {
  const since = now - budget.perMs;
  const failures = sql.get<[string, number], { n: number }>(COUNT_FAILURES).get(queue, since)!.n;
  if (failures < budget.count) return null;
  const freeing = sql.get<[string, number, number], { at: number }>(NTH_FAILURE).get(queue, since, failures - budget.count)!;
  return freeing.at + budget.perMs;
}

function recordFailure(sql: StatementCache, queue: string, at: number): void {
  sql.get<[string, number]>(INSERT_FAILURE).run(queue, at);
}

/** A lapsed lease spends its attempt: each task put back (or dead) is a failure of the queue. */
function reapQueue(sql: StatementCache, queue: string, retries: number, now: number): TaskRow[] {
  const rows = sql.get<[number, number, string, number, string, number], TaskRow>(REAP_QUEUE).all(retries, now, LEASE_LAPSED, now, queue, now);
  for (const _row of rows) recordFailure(sql, queue, now);
  return rows;
}

export function reapAllRows(sql: StatementCache, now: string, retriesOf: (queue: string) => number): Task[] {
  const nowMs = toMs(now, 'now');
  const queues = sql.get<[number], { queue: string }>(LAPSED_QUEUES).all(nowMs);
  return queues.flatMap(({ queue }) => reapQueue(sql, queue, retriesOf(queue), nowMs).map(taskFromRow));
}

export function nextExpiryRow(sql: StatementCache): string | null {
  const at = sql.get<[], { at: number | null }>(NEXT_EXPIRY).get()?.at ?? null;
  return at === null ? null : new Date(at).toISOString();
}

/** Checks that `fence` names the task's current claim; the task row when it does. */
function fenced(sql: StatementCache, id: string, fence: TaskFence): { row: TaskRow } | { refused: TaskStepResult } {
  const row = sql.get<[string], TaskRow>(SELECT_TASK).get(id);
  if (row === undefined) return { refused: { ok: false, reason: 'not_found', task: null } };
  const matches =
    row.state === 'running' &&
    (fence.lease_token == null || fence.lease_token === row.lease_token) &&
    (fence.run_id == null || fence.run_id === row.run_id);
  return matches ? { row } : { refused: { ok: false, reason: 'lease_lost', task: taskFromRow(row) } };
}

export function extendTaskRow(sql: StatementCache, id: string, fence: TaskFence, leaseMs: number, now: string): TaskStepResult {
  const nowMs = toMs(now, 'now');
  checkLease(leaseMs);
  const found = fenced(sql, id, fence);
  if ('refused' in found) return found.refused;
  // A lease held for a run's whole life stays that way: the run's end releases it.
  const expires = found.row.lease_expires_at === null ? null : nowMs + leaseMs;
  sql.get<[number | null, number, string]>(SET_LEASE).run(expires, nowMs, id);
  return { ok: true, task: requireTask(sql, id) };
}

export function completeTaskRow(sql: StatementCache, id: string, fence: TaskFence, resultJson: string | null, now: string): TaskStepResult {
  const nowMs = toMs(now, 'now');
  const found = fenced(sql, id, fence);
  if ('refused' in found) return found.refused;
  sql.get<[string | null, number, string]>(COMPLETE).run(resultJson, nowMs, id);
  return { ok: true, task: requireTask(sql, id) };
}

export function releaseTaskRow(
  sql: StatementCache,
  id: string,
  fence: TaskFence,
  release: TaskRelease,
  error: string | null,
  now: string,
): TaskStepResult {
  const nowMs = toMs(now, 'now');
  const found = fenced(sql, id, fence);
  if ('refused' in found) return found.refused;
  const [state, runAt, refund] =
    release.to === 'dead' ? (['dead', found.row.run_at, 0] as const) : (['queued', toMs(release.run_at, 'run_at'), release.charge ? 0 : 1] as const);
  sql.get<[TaskState, number, number, string | null, number, string]>(RELEASE).run(state, runAt, refund, error, nowMs, id);
  if (refund === 0) recordFailure(sql, found.row.queue, nowMs);
  return { ok: true, task: requireTask(sql, id) };
}

export function bindTaskRow(sql: StatementCache, id: string, leaseToken: string, runId: string, now: string): boolean {
  return sql.get<[string, number, string, string]>(BIND).run(runId, toMs(now, 'now'), id, leaseToken).changes > 0;
}

export function requeueTaskRow(sql: StatementCache, id: string, now: string): Task | null {
  const nowMs = toMs(now, 'now');
  const row = sql.get<[number, number, string], TaskRow>(REQUEUE).get(nowMs, nowMs, id);
  return row === undefined ? null : taskFromRow(row);
}

export function getTaskRow(sql: StatementCache, id: string): Task | null {
  const row = sql.get<[string], TaskRow>(SELECT_TASK).get(id);
  return row === undefined ? null : taskFromRow(row);
}

export function listTaskRows(sql: StatementCache, query: TaskListQuery): Task[] {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (query.queue !== undefined) {
    where.push('queue = ?');
    params.push(query.queue);
  }
  if (query.states !== undefined) {
    if (query.states.length === 0) return [];
    where.push(`state IN (${query.states.map(() => '?').join(', ')})`);
    params.push(...query.states);
  }
  if (query.run_id !== undefined) {
    where.push('run_id = ?');
    params.push(query.run_id);
  }
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw new StoreError('invalid_argument', `limit must be a whole number of 1 or more, got ${limit}`);
  const text = `SELECT ${COLUMNS} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return sql.get<Array<string | number>, TaskRow>(text).all(...params, limit).map(taskFromRow);
}

export function countTaskRows(sql: StatementCache): QueueCounts[] {
  const out = new Map<string, QueueCounts>();
  for (const row of sql.get<[], { queue: string; state: TaskState; n: number }>(COUNTS).all()) {
    const counts = out.get(row.queue) ?? { queue: row.queue, queued: 0, running: 0, done: 0, dead: 0 };
    counts[row.state] = row.n;
    out.set(row.queue, counts);
  }
  return [...out.values()];
}

export function getQueueStateRow(sql: StatementCache, queue: string): QueueState {
  const row = sql.get<[string], { queue: string; paused_until: number | null; pause_reason: string | null }>(SELECT_QUEUE_STATE).get(queue);
  return {
    queue,
    paused_until: row?.paused_until == null ? null : new Date(row.paused_until).toISOString(),
    pause_reason: row?.pause_reason ?? null,
  };
}

export function pauseQueueRow(sql: StatementCache, queue: string, until: string, reason: string): QueueState {
  sql.get<[string, number, string]>(PAUSE).run(queue, toMs(until, 'until'), reason);
  return getQueueStateRow(sql, queue);
}

export function getQueueBudgetRow(sql: StatementCache, queue: string, budget: { count: number; perMs: number }, now: string): QueueBudget {
  const nowMs = toMs(now, 'now');
  const failures = sql.get<[string, number], { n: number }>(COUNT_FAILURES).get(queue, nowMs - budget.perMs)!.n;
  return { queue, failures, exhausted_until: toIsoOrNull(budgetExhaustedUntil(sql, queue, budget, nowMs)) };
}

export function pruneTaskRows(sql: StatementCache, olderThan: string): number {
  const cutoff = toMs(olderThan, 'olderThan');
  sql.get<[number]>(PRUNE_CLAIMS).run(cutoff);
  sql.get<[number]>(PRUNE_FAILURES).run(cutoff);
  return sql.get<[number]>(PRUNE_DONE).run(cutoff).changes;
}

function requireTask(sql: StatementCache, id: string): Task {
  const row = sql.get<[string], TaskRow>(SELECT_TASK).get(id);
  if (row === undefined) throw new StoreError('not_found', `no task with id ${id}`);
  return taskFromRow(row);
}

function checkLease(leaseMs: number): number {
  if (!Number.isFinite(leaseMs) || leaseMs < 1) {
    throw new StoreError('invalid_argument', `a task lease must be a positive number of milliseconds, got ${leaseMs}`);
  }
  return leaseMs;
}


