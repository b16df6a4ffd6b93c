/**
 * Task rows (issue 7) on PostgreSQL. The semantics are the SQLite dialect's (src/store/sqlite/tasks.ts); what differs
 * is how concurrent nodes are kept apart, each step in as few round trips as it can (issue 8: a claim and a complete
 * used to take 12 statements between them, with the queue's lock held across six):
 *
 * - A claim is one call of `nightshift_claim_task` (migration 0008), in autocommit: the queue's advisory lock (shared
 *   with a slot while the queue is far below its concurrency and has no rate or budget, exclusive otherwise, so a
 *   queue's `concurrency`, `rate` and budget hold across the whole fleet), the reap of its lapsed leases, the pause,
 *   limit and budget checks, the pick and the mark, with the lock held for the server's work only.
 * - The pick is `FOR UPDATE SKIP LOCKED`: a task row another transaction has locked (being completed, released,
 *   requeued) is passed over rather than waited for, and the row picked stays locked until the claim commits.
 * - A step on a claimed task (extend, complete, release) is one UPDATE fenced in its WHERE clause; the UPDATE locks the
 *   row and re-checks the fence on its newest version, so a late complete and a reap or a new claim of the same task
 *   are ordered, never interleaved. Only a refused step reads the row again, to say why.
 */
import { WAKE_CHANNEL } from './runs.ts';
import { StoreError } from '../errors.ts';
import type {
  ClaimRequest,
  ClaimResult,
  CompleteAndClaimResult,
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
import type { Db, PreparedQuery } from './connection.ts';
import { TASK_COLUMNS, taskFromRow, type TaskRow } from '../task-rows.ts';
import { pgText, toIsoOrNull, toMs } from './rows.ts';


const COLUMNS = TASK_COLUMNS;

/**
 * The statements every task of a busy worker pays for (claim, complete, complete-and-claim) are prepared per
 * connection: parsing and planning them on every call cost the server more than running them (claims +20–25 %/s,
 * docs/benchmarks.md section 11). nightshift already needs session-level connections (LISTEN, the leader's lock), so
 * this asks nothing more of a connection pooler in between.
 */
const prepared = (name: string, text: string): PreparedQuery => ({ name, text });

const SELECT_TASK = `SELECT ${COLUMNS} FROM tasks WHERE id = $1`;
const SELECT_BY_KEY = `SELECT ${COLUMNS} FROM tasks WHERE queue = $1 AND key = $2`;
/** A repeated key inserts nothing (the partial unique index tasks_key decides, also between two nodes at once). */
// The insert and the wake-up of idle nodes in one statement (runs.ts says why NOTIFY); nothing inserted, nobody woken.
const INSERT_TASK = `WITH inserted AS (
    INSERT INTO tasks (id, queue, payload, priority, run_at, key, state, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7)
    ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING RETURNING ${COLUMNS})
  SELECT inserted.*, pg_notify('${WAKE_CHANNEL}', 'tasks:' || current_schema()) FROM inserted`;
const COUNT_FAILURES = `SELECT count(*) AS n FROM task_failures WHERE queue = $1 AND at > $2`;
const NTH_FAILURE = `SELECT at FROM task_failures WHERE queue = $1 AND at > $2 ORDER BY at LIMIT 1 OFFSET $3`;
const INSERT_FAILURE = `INSERT INTO task_failures (queue, at) VALUES ($1, $2)`;
/** Lapsed leases: back to the queue, due now, or to the dead letter once the retries are spent. */
const REAP_QUEUE = `UPDATE tasks SET state = CASE WHEN attempt > $1 THEN 'dead' ELSE 'queued' END, run_at = $2,
  lease_token = NULL, lease_expires_at = NULL, last_error = $3, updated_at = $2
  WHERE queue = $4 AND state = 'running' AND lease_expires_at IS NOT NULL AND lease_expires_at < $2
  RETURNING ${COLUMNS}`;
const LAPSED_QUEUES = `SELECT DISTINCT queue FROM tasks
  WHERE state = 'running' AND lease_expires_at IS NOT NULL AND lease_expires_at < $1 ORDER BY queue`;
const NEXT_EXPIRY = `SELECT min(lease_expires_at) AS at FROM tasks WHERE state = 'running' AND lease_expires_at IS NOT NULL`;
/**
 * A step on a claimed task is one fenced UPDATE: it changes the row only while the task is running under the claim the
 * fence names ($2: that lease token, $3: that run; null: either). The UPDATE locks the row and re-checks the fence on
 * its newest version, so a late step and a reap or a new claim of the same task are ordered, never interleaved.
 */
const FENCE = `id = $1 AND state = 'running' AND ($2::text IS NULL OR lease_token = $2) AND ($3::text IS NULL OR run_id = $3)`;
/** A lease held for a run's whole life (NULL) stays that way: the run's end releases it. */
const EXTEND = `UPDATE tasks SET lease_expires_at = CASE WHEN lease_expires_at IS NULL THEN NULL ELSE $4::bigint + $5::bigint END,
  updated_at = $4 WHERE ${FENCE} RETURNING ${COLUMNS}`;
const COMPLETE = prepared('nightshift_complete_task', `UPDATE tasks SET state = 'done', result = $4, lease_token = NULL, lease_expires_at = NULL, updated_at = $5
  WHERE ${FENCE} RETURNING ${COLUMNS}`);
/** $4: 'queued' or 'dead'; $5: the new run_at (null: kept); $6: attempts given back; $8: a charged failure, recorded. */
const RELEASE = `WITH released AS (
    UPDATE tasks SET state = $4, run_at = coalesce($5::bigint, run_at), attempt = attempt - $6::integer, lease_token = NULL,
      lease_expires_at = NULL, last_error = coalesce($7::text, last_error), updated_at = $9
    WHERE ${FENCE} RETURNING ${COLUMNS}
  ), failure AS (
    INSERT INTO task_failures (queue, at) SELECT queue, $9 FROM released WHERE $8::boolean
  )
  SELECT ${COLUMNS} FROM released`;
const BIND = `UPDATE tasks SET run_id = $1, lease_expires_at = NULL, updated_at = $2
  WHERE id = $3 AND state = 'running' AND lease_token = $4`;
const REQUEUE = `UPDATE tasks SET state = 'queued', attempt = 0, run_at = $1, lease_token = NULL, lease_expires_at = NULL,
  updated_at = $1 WHERE id = $2 AND state IN ('dead', 'done') RETURNING ${COLUMNS}`;
const COUNTS = `SELECT queue, state, count(*) AS n FROM tasks GROUP BY queue, state ORDER BY queue`;
const SELECT_QUEUE_STATE = `SELECT queue, paused_until, pause_reason FROM queue_state WHERE queue = $1`;
const PAUSE = `INSERT INTO queue_state (queue, paused_until, pause_reason) VALUES ($1, $2, $3)
  ON CONFLICT (queue) DO UPDATE SET paused_until = excluded.paused_until, pause_reason = excluded.pause_reason
  WHERE queue_state.paused_until IS NULL OR queue_state.paused_until < excluded.paused_until`;
const PRUNE_DONE = `DELETE FROM tasks WHERE state = 'done' AND updated_at < $1`;
/** Wakes the task drivers of idle nodes (src/cluster/), like a queued run does (runs.ts). */
const NOTIFY_TASK = `SELECT pg_notify('${WAKE_CHANNEL}', 'tasks:' || current_schema())`;
const PRUNE_CLAIMS = `DELETE FROM task_claims WHERE at < $1`;
const PRUNE_FAILURES = `DELETE FROM task_failures WHERE at < $1`;

/** What a lapsed lease leaves as the task's last error (the SQLite dialect's text). */
export const LEASE_LAPSED = 'lease expired: the worker neither completed, failed nor extended it in time';

export async function insertTaskRow(db: Db, task: NewTask): Promise<{ task: Task; duplicate: boolean }> {
  const runAt = toMs(task.run_at, 'run_at');
  const createdAt = toMs(task.created_at, 'created_at');
  const values = [task.id, task.queue, task.payload_json, task.priority, runAt, pgText(task.key), createdAt];
  const inserted = (await db.query<TaskRow>(INSERT_TASK, values)).rows[0];
  if (inserted !== undefined) return { task: taskFromRow(inserted), duplicate: false };
  const existing = (await db.query<TaskRow>(SELECT_BY_KEY, [task.queue, pgText(task.key)])).rows[0];
  if (existing === undefined) throw new StoreError('conflict', `task key ${task.key} of queue ${task.queue} changed while enqueuing; try again`);
  return { task: taskFromRow(existing), duplicate: true };
}

/**
 * The claim, with or without a complete before it: one call of the function migration 0010 installs (see there for its
 * locks), in autocommit. $1–$5 name the task to complete first (all null: none), $6–$18 the claim, $19 the lock.
 */
const CLAIM = prepared('nightshift_claim_task', `SELECT ${COLUMNS}, blocked, retry_at, step
  FROM nightshift_claim_task($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`);
const NO_COMPLETE = [null, null, null, null, null] as const;

type ClaimRow = { [K in keyof TaskRow]: TaskRow[K] | null } & { blocked: string | null; retry_at: number | null; step: 'completed' | 'refused' | 'claim' };

/** The claim's arguments (`nightshift_claim_task`'s $6 … $18; $19, exclusive, is apart). */
function claimValues(request: ClaimRequest): unknown[] {
  const { limits } = request;
  return [
    request.queue,
    toMs(request.now, 'now'),
    request.lease_token,
    request.lease_ms === null ? null : checkLease(request.lease_ms),
    request.run_id,
    request.claimed_by,
    limits.retries,
    limits.concurrency,
    limits.rate?.count ?? null,
    limits.rate?.perMs ?? null,
    limits.budget?.count ?? null,
    limits.budget?.perMs ?? null,
    LEASE_LAPSED,
  ];
}

async function callClaim(db: Db, request: ClaimRequest, exclusive: boolean): Promise<ClaimRow> {
  const row = (await db.query<ClaimRow>(CLAIM, [...NO_COMPLETE, ...claimValues(request), exclusive])).rows[0];
  if (row === undefined) throw new StoreError('internal', `the claim of queue ${request.queue} returned no row`);
  return row;
}

/**
 * A claim's row as a ClaimResult. A wide claim that found its queue near its concurrency (blocked 'exclusive') is
 * made again under the exclusive lock: a second round trip, only then.
 */
async function claimResultOf(db: Db, request: ClaimRequest, row: ClaimRow): Promise<ClaimResult> {
  if (row.blocked === 'exclusive') row = await callClaim(db, request, true);
  if (row.blocked === null) return { task: taskFromRow(row as TaskRow), blocked: null, retry_at: null };
  if (!CLAIM_BLOCKS.has(row.blocked)) throw new StoreError('internal', `the claim of queue ${request.queue} returned blocked = ${row.blocked}`);
  return blocked(row.blocked as Exclude<ClaimResult['blocked'], null>, row.retry_at);
}

/** One round trip, two when a wide claim finds its queue has come near its concurrency and retries under the lock. */
export async function claimTaskRows(db: Db, request: ClaimRequest): Promise<ClaimResult> {
  return claimResultOf(db, request, await callClaim(db, request, false));
}

/** The complete and the next claim in one call, in autocommit (one transaction): a refused complete claims nothing. */
export async function completeAndClaimRows(
  db: Db,
  id: string,
  fence: TaskFence,
  resultJson: string | null,
  now: string,
  next: ClaimRequest,
): Promise<CompleteAndClaimResult> {
  const values = [id, ...fenceValues(fence), resultJson, toMs(now, 'now'), ...claimValues(next), false];
  const rows = (await db.query<ClaimRow>(CLAIM, values)).rows;
  const [first, claim] = rows;
  if (first === undefined) return { completed: { ok: false, reason: 'not_found', task: null }, next: null };
  if (first.step === 'refused') return { completed: { ok: false, reason: 'lease_lost', task: taskFromRow(first as TaskRow) }, next: null };
  if (first.step !== 'completed' || claim?.step !== 'claim') {
    throw new StoreError('internal', `completing task ${id} and claiming from queue ${next.queue} returned steps ${rows.map((r) => r.step).join(', ')}`);
  }
  return { completed: { ok: true, task: taskFromRow(first as TaskRow) }, next: await claimResultOf(db, next, claim) };
}

const CLAIM_BLOCKS: ReadonlySet<string> = new Set(['empty', 'concurrency', 'rate', 'paused', 'budget']);

function blocked(why: Exclude<ClaimResult['blocked'], null>, retryAtMs: number | null): ClaimResult {
  return { task: null, blocked: why, retry_at: toIsoOrNull(retryAtMs) };
}

/** When the budget lets a retry through again (the failure whose leaving the window frees one); null: it does now. */
async function budgetExhaustedUntil(db: Db, queue: string, budget: { count: number; perMs: number }, now: number): Promise<number | null> {
  const since = now - budget.perMs;
  const failures = (await db.query<{ n: number }>(COUNT_FAILURES, [queue, since])).rows[0]?.n ?? 0;
  if (failures < budget.count) return null;
  const freeing = (await db.query<{ at: number }>(NTH_FAILURE, [queue, since, failures - budget.count])).rows[0];
  return freeing === undefined ? null : freeing.at + budget.perMs;
}

async function recordFailures(db: Db, queue: string, at: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await db.query(INSERT_FAILURE, [queue, at]);
}

/** A lapsed lease spends its attempt: each task put back (or dead) is a failure of the queue. */
async function reapQueue(db: Db, queue: string, retries: number, now: number): Promise<TaskRow[]> {
  const rows = (await db.query<TaskRow>(REAP_QUEUE, [retries, now, LEASE_LAPSED, queue])).rows;
  await recordFailures(db, queue, now, rows.length);
  return rows;
}

/** Run inside a transaction. Each UPDATE re-checks a row another node changed meanwhile, so none is reaped twice. */
export async function reapAllRows(db: Db, now: string, retriesOf: (queue: string) => number): Promise<Task[]> {
  const nowMs = toMs(now, 'now');
  const queues = (await db.query<{ queue: string }>(LAPSED_QUEUES, [nowMs])).rows;
  const reaped: Task[] = [];
  for (const { queue } of queues) reaped.push(...(await reapQueue(db, queue, retriesOf(queue), nowMs)).map(taskFromRow));
  return reaped;
}

export async function nextExpiryRow(db: Db): Promise<string | null> {
  return toIsoOrNull((await db.query<{ at: number | null }>(NEXT_EXPIRY)).rows[0]?.at ?? null);
}

/** The fence's values for FENCE's $2 and $3. */
const fenceValues = (fence: TaskFence): [string | null, string | null] => [fence.lease_token ?? null, fence.run_id ?? null];

/** What a fenced UPDATE gave back; when it changed nothing, the row is read to say why (gone, or not this claim's). */
async function stepped(db: Db, id: string, rows: TaskRow[]): Promise<TaskStepResult> {
  const row = rows[0];
  if (row !== undefined) return { ok: true, task: taskFromRow(row) };
  const current = (await db.query<TaskRow>(SELECT_TASK, [id])).rows[0];
  return current === undefined ? { ok: false, reason: 'not_found', task: null } : { ok: false, reason: 'lease_lost', task: taskFromRow(current) };
}

export async function extendTaskRow(db: Db, id: string, fence: TaskFence, leaseMs: number, now: string): Promise<TaskStepResult> {
  const nowMs = toMs(now, 'now');
  checkLease(leaseMs);
  return stepped(db, id, (await db.query<TaskRow>(EXTEND, [id, ...fenceValues(fence), nowMs, leaseMs])).rows);
}

export async function completeTaskRow(db: Db, id: string, fence: TaskFence, resultJson: string | null, now: string): Promise<TaskStepResult> {
  const nowMs = toMs(now, 'now');
  return stepped(db, id, (await db.query<TaskRow>(COMPLETE, [id, ...fenceValues(fence), resultJson, nowMs])).rows);
}

export async function releaseTaskRow(
  db: Db,
  id: string,
  fence: TaskFence,
  release: TaskRelease,
  error: string | null,
  now: string,
): Promise<TaskStepResult> {
  const nowMs = toMs(now, 'now');
  // The dead letter keeps run_at; a release to the queue charges the attempt unless told not to (then gives it back).
  const [state, runAt, refund] =
    release.to === 'dead' ? (['dead', null, 0] as const) : (['queued', toMs(release.run_at, 'run_at'), release.charge ? 0 : 1] as const);
  const values = [id, ...fenceValues(fence), state, runAt, refund, pgText(error), refund === 0, nowMs];
  return stepped(db, id, (await db.query<TaskRow>(RELEASE, values)).rows);
}

export async function bindTaskRow(db: Db, id: string, leaseToken: string, runId: string, now: string): Promise<boolean> {
  return ((await db.query(BIND, [runId, toMs(now, 'now'), id, leaseToken])).rowCount ?? 0) > 0;
}

export async function requeueTaskRow(db: Db, id: string, now: string): Promise<Task | null> {
  const row = (await db.query<TaskRow>(REQUEUE, [toMs(now, 'now'), id])).rows[0];
  if (row !== undefined) await db.query(NOTIFY_TASK);
  return row === undefined ? null : taskFromRow(row);
}

export async function getTaskRow(db: Db, id: string): Promise<Task | null> {
  const row = (await db.query<TaskRow>(SELECT_TASK, [id])).rows[0];
  return row === undefined ? null : taskFromRow(row);
}

export async function listTaskRows(db: Db, query: TaskListQuery): Promise<Task[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.queue !== undefined) where.push(`queue = ${param(query.queue)}`);
  if (query.states !== undefined) {
    if (query.states.length === 0) return [];
    where.push(`state = ANY(${param([...query.states])}::text[])`);
  }
  if (query.run_id !== undefined) where.push(`run_id = ${param(query.run_id)}`);
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw new StoreError('invalid_argument', `limit must be a whole number of 1 or more, got ${limit}`);
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const text = `SELECT ${COLUMNS} FROM tasks ${filter} ORDER BY id DESC LIMIT ${param(limit)}`;
  return (await db.query<TaskRow>(text, params)).rows.map(taskFromRow);
}

export async function countTaskRows(db: Db): Promise<QueueCounts[]> {
  const out = new Map<string, QueueCounts>();
  for (const row of (await db.query<{ queue: string; state: TaskState; n: number }>(COUNTS)).rows) {
    const counts = out.get(row.queue) ?? { queue: row.queue, queued: 0, running: 0, done: 0, dead: 0 };
    counts[row.state] = row.n;
    out.set(row.queue, counts);
  }
  return [...out.values()];
}

export async function getQueueStateRow(db: Db, queue: string): Promise<QueueState> {
  type Row = { queue: string; paused_until: number | null; pause_reason: string | null };
  const row = (await db.query<Row>(SELECT_QUEUE_STATE, [queue])).rows[0];
  return { queue, paused_until: toIsoOrNull(row?.paused_until ?? null), pause_reason: row?.pause_reason ?? null };
}

export async function pauseQueueRow(db: Db, queue: string, until: string, reason: string): Promise<QueueState> {
  await db.query(PAUSE, [queue, toMs(until, 'until'), pgText(reason)]);
  return getQueueStateRow(db, queue);
}

export async function getQueueBudgetRow(db: Db, queue: string, budget: { count: number; perMs: number }, now: string): Promise<QueueBudget> {
  const nowMs = toMs(now, 'now');
  const failures = (await db.query<{ n: number }>(COUNT_FAILURES, [queue, nowMs - budget.perMs])).rows[0]?.n ?? 0;
  return { queue, failures, exhausted_until: toIsoOrNull(await budgetExhaustedUntil(db, queue, budget, nowMs)) };
}

/** Run inside a transaction. */
export async function pruneTaskRows(db: Db, olderThan: string): Promise<number> {
  const cutoff = toMs(olderThan, 'olderThan');
  await db.query(PRUNE_CLAIMS, [cutoff]);
  await db.query(PRUNE_FAILURES, [cutoff]);
  return (await db.query(PRUNE_DONE, [cutoff])).rowCount ?? 0;
}

function checkLease(leaseMs: number): number {
  if (!Number.isFinite(leaseMs) || leaseMs < 1) {
    throw new StoreError('invalid_argument', `a task lease must be a positive number of milliseconds, got ${leaseMs}`);
  }
  return leaseMs;
}

