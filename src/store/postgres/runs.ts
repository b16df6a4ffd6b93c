/**
 * Run rows on PostgreSQL: the SQL and the steps the store composes into transactions. A new run's row, a run's end
 * and the arguments' checks are shared with SQLite in ../rows.ts. The conventions are the SQLite dialect's
 * (src/store/sqlite/runs.ts): a run recorded directly in a final state never started; `duration_ms` is
 * `ended_at - started_at` floored at 0; lists are newest first by id, queued runs by `dueBefore` in due order.
 */
import { StoreError } from '../errors.ts';
import { checkKeepPerJob, endedAtMs, finishedTimes, newRunRow as sharedRunRow, runListLimit, type NewRunState } from '../rows.ts';
import type { NewRun, RunEnd, RunQuery } from '../types.ts';
import type { Db } from './connection.ts';
import { pgText, toMs, type RunRow } from './rows.ts';

export const RUN_COLUMNS = `id, job, attempt, status, reason, "trigger", exit_code, signal, scheduled_at, started_at,
  ended_at, duration_ms, pid, degraded, orphans_killed, node, chain_id, error, heartbeat_at, retry_after_at`;

const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
  $14, $15, $16, $17, $18, $19, $20)`;
const SELECT_RUN = `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`;
const LOCK_RUN = `SELECT status, started_at FROM runs WHERE id = $1 FOR UPDATE`;
const LOCK_QUEUED_RUN = `SELECT status FROM runs WHERE id = $1 FOR UPDATE SKIP LOCKED`;
/**
 * Wakes idle nodes (src/cluster/): delivered when the inserting transaction commits. The payload names the schema, as
 * one database may hold several nightshift schemas and NOTIFY is per database.
 */
export const WAKE_CHANNEL = 'nightshift_wake';
/** A queued run's insert wakes idle nodes in the same statement. */
const INSERT_QUEUED_RUN = `WITH inserted AS (${INSERT_RUN} RETURNING id)
  SELECT pg_notify('${WAKE_CHANNEL}', 'runs:' || current_schema()) FROM inserted`;
const MARK_RUNNING = `UPDATE runs SET status = 'running', started_at = $1, node = $3 WHERE id = $2 AND status = 'queued'
  RETURNING ${RUN_COLUMNS}`;
const FINISH_RUNNING = `UPDATE runs SET status = $1, reason = $2, exit_code = $3, signal = $4, ended_at = $5,
  duration_ms = $6, orphans_killed = $7, error = $8 WHERE id = $9 AND status = 'running' RETURNING ${RUN_COLUMNS}`;
const CANCEL_QUEUED = `UPDATE runs SET status = $1, reason = $2, exit_code = $3, signal = $4, ended_at = $5,
  orphans_killed = $6, error = $7 WHERE id = $8 AND status = 'queued'`;
const SET_PID = `UPDATE runs SET pid = $1 WHERE id = $2 AND status = 'running'`;
const SET_HEARTBEAT = `UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'`;
const COUNT_FAILURES = `SELECT COUNT(*) AS n FROM runs WHERE job = $1 AND ended_at >= $2
  AND (status IN ('failed', 'timed_out') OR (status = 'killed' AND (reason IS NULL OR reason <> 'shutdown')))`;
const COUNT_LOST_IN_CHAIN = `SELECT COUNT(*) AS n FROM runs WHERE chain_id = $1
  AND (status = 'lost' OR (status = 'killed' AND reason = 'shutdown'))`;
const PRUNE_RUNS = `DELETE FROM runs WHERE id IN (
  SELECT id FROM (
    SELECT id, ended_at, ROW_NUMBER() OVER (PARTITION BY job ORDER BY id DESC) AS newer
    FROM runs WHERE status NOT IN ('queued', 'running')
  ) ranked
  WHERE newer > $1 OR ended_at < $2
)`;

/** A full row for a new run in `state`; its free text (degraded, error) has NUL replaced, as PostgreSQL text needs. */
export function newRunRow(run: NewRun, state: NewRunState): RunRow {
  const row = sharedRunRow(run, state);
  return { ...row, degraded: pgText(row.degraded), error: pgText(row.error) };
}

export async function insertRunRow(db: Db, row: RunRow): Promise<void> {
  await db.query(row.status === 'queued' ? INSERT_QUEUED_RUN : INSERT_RUN, [
    row.id,
    row.job,
    row.attempt,
    row.status,
    row.reason,
    row.trigger,
    row.exit_code,
    row.signal,
    row.scheduled_at,
    row.started_at,
    row.ended_at,
    row.duration_ms,
    row.pid,
    row.degraded,
    row.orphans_killed,
    row.node,
    row.chain_id,
    row.error,
    row.heartbeat_at,
    row.retry_after_at,
  ]);
}

export async function getRunRow(db: Db, id: string): Promise<RunRow | undefined> {
  return (await db.query<RunRow>(SELECT_RUN, [id])).rows[0];
}

/**
 * Locks the run's row for the rest of the transaction (another node finishing or starting it waits) and returns its
 * status; 'not_found' when there is no such run.
 */
export async function lockRunRow(db: Db, id: string): Promise<{ status: string; started_at: number | null }> {
  const row = (await db.query<{ status: string; started_at: number | null }>(LOCK_RUN, [id])).rows[0];
  if (row === undefined) throw new StoreError('not_found', `no run with id ${id}`);
  return row;
}

/**
 * Claims a queued run's row for the rest of the transaction, or throws 'not_queued' at once when another node has it
 * locked (SKIP LOCKED: nodes racing for one run never queue up behind each other) or it is no longer queued.
 */
export async function lockQueuedRunRow(db: Db, id: string): Promise<void> {
  const row = (await db.query<{ status: string }>(LOCK_QUEUED_RUN, [id])).rows[0];
  if (row === undefined) {
    if ((await getRunRow(db, id)) === undefined) throw new StoreError('not_found', `no run with id ${id}`);
    throw new StoreError('not_queued', `run ${id} is being started by another node`);
  }
  if (row.status !== 'queued') {
    throw new StoreError('not_queued', `run ${id} is no longer queued (it is ${row.status}): another process started or cancelled it`);
  }
}

/** queued → running on `node` (the one starting it); the updated row, or undefined when the run was not queued (nothing written). */
export async function markQueuedRunning(db: Db, id: string, startedMs: number, node: string): Promise<RunRow | undefined> {
  return (await db.query<RunRow>(MARK_RUNNING, [startedMs, id, node])).rows[0];
}

/** Run inside a transaction, after `lockRunRow`. */
export async function finishRunningRow(db: Db, id: string, end: RunEnd): Promise<RunRow> {
  const { endedMs, durationMs } = finishedTimes(id, await lockRunRow(db, id), end);
  const { rows } = await db.query<RunRow>(FINISH_RUNNING, [
    end.status,
    end.reason,
    end.exit_code,
    end.signal,
    endedMs,
    durationMs,
    end.orphans_killed ?? 0,
    pgText(end.error ?? null),
    id,
  ]);
  const finished = rows[0];
  if (finished === undefined) throw new StoreError('not_running', `run ${id} cannot be finished: it is no longer running`);
  return finished;
}

export async function cancelQueuedRow(db: Db, id: string, end: RunEnd): Promise<boolean> {
  const endedMs = endedAtMs(end);
  const { rowCount } = await db.query(CANCEL_QUEUED, [
    end.status,
    end.reason,
    end.exit_code,
    end.signal,
    endedMs,
    end.orphans_killed ?? 0,
    pgText(end.error ?? null),
    id,
  ]);
  return (rowCount ?? 0) > 0;
}

export async function setRunPidRow(db: Db, id: string, pid: number): Promise<void> {
  if (((await db.query(SET_PID, [pid, id])).rowCount ?? 0) > 0) return;
  const row = await getRunRow(db, id);
  if (row === undefined) throw new StoreError('not_found', `no run with id ${id}`);
  throw new StoreError('not_running', `cannot record pid ${pid} for run ${id}: it is ${row.status}, not running`);
}

export async function listRunRows(db: Db, query: RunQuery): Promise<RunRow[]> {
  const limit = runListLimit(query.limit);
  if (query.statuses !== undefined && query.statuses.length === 0) return [];

  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.job !== undefined) where.push(`job = ${param(query.job)}`);
  if (query.statuses !== undefined) where.push(`status = ANY(${param([...query.statuses])}::text[])`);
  if (query.node !== undefined) where.push(`node = ${param(query.node)}`);
  if (query.dueBefore !== undefined) where.push(`status = 'queued'`, `scheduled_at <= ${param(toMs(query.dueBefore, 'dueBefore'))}`);
  const order = query.dueBefore !== undefined ? 'scheduled_at ASC, id ASC' : 'id DESC';
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const text = `SELECT ${RUN_COLUMNS} FROM runs ${filter} ORDER BY ${order} LIMIT ${param(limit)}`;
  return (await db.query<RunRow>(text, params)).rows;
}

// Each job's newest runs through runs_job_id (one index search per job: LATERAL … LIMIT, no scan of the history),
// with its running count beside them; `pos` is the job's place in the array asked for (1-based, from ORDINALITY).
const RECENT_BY_JOB = `SELECT j.pos, r.*
  FROM unnest($1::text[]) WITH ORDINALITY AS j(job, pos)
  CROSS JOIN LATERAL (SELECT ${RUN_COLUMNS} FROM runs WHERE runs.job = j.job ORDER BY id DESC LIMIT $2) AS r
  ORDER BY j.pos, r.id DESC`;
const RUNNING_BY_JOB = `SELECT job, COUNT(*)::int AS n FROM runs WHERE status = 'running' AND job = ANY($1::text[]) GROUP BY job`;

/** Store.jobRunSummaries: each job's `limit` newest rows (newest first) and running count, in `jobs`' order. */
export async function jobRunSummaryRows(db: Db, jobs: readonly string[], limit: number): Promise<Array<{ job: string; recent: RunRow[]; running: number }>> {
  const checked = runListLimit(limit);
  const summaries = jobs.map((job) => ({ job, recent: [] as RunRow[], running: 0 }));
  if (jobs.length === 0) return summaries;
  const [recent, running] = await Promise.all([
    db.query<RunRow & { pos: string }>(RECENT_BY_JOB, [[...jobs], checked]),
    db.query<{ job: string; n: number }>(RUNNING_BY_JOB, [[...jobs]]),
  ]);
  for (const row of recent.rows) summaries[Number(row.pos) - 1]!.recent.push(row); // runFromRow drops `pos`
  const counts = new Map(running.rows.map((r) => [r.job, r.n]));
  for (const summary of summaries) summary.running = counts.get(summary.job) ?? 0;
  return summaries;
}

export async function countFailureRows(db: Db, job: string, since: string): Promise<number> {
  return (await db.query<{ n: number }>(COUNT_FAILURES, [job, toMs(since, 'since')])).rows[0]?.n ?? 0;
}

export async function countLostInChainRows(db: Db, chainId: string): Promise<number> {
  return (await db.query<{ n: number }>(COUNT_LOST_IN_CHAIN, [chainId])).rows[0]?.n ?? 0;
}

export async function pruneRunRows(db: Db, keepPerJob: number, olderThan: string): Promise<number> {
  checkKeepPerJob(keepPerJob);
  return (await db.query(PRUNE_RUNS, [keepPerJob, toMs(olderThan, 'olderThan')])).rowCount ?? 0;
}

export async function setHeartbeatRow(db: Db, runId: string, at: string): Promise<boolean> {
  return (await db.query(SET_HEARTBEAT, [toMs(at, 'at'), runId])).rowCount === 1;
}
