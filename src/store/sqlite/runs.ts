/**
 * Run rows on SQLite: the SQL and the synchronous steps the store composes into transactions. A new run's row, a
 * run's end and the arguments' checks are shared with PostgreSQL in ../rows.ts.
 *
 * Conventions (also documented on the Store interface):
 * - A run recorded directly in a final state (`insertRun` with a RunEnd, `cancelQueuedRun`) never started: its
 *   `started_at` and `duration_ms` are null and `ended_at` is the caller's `ended_at` — when the decision was made.
 * - `duration_ms` is `ended_at - started_at`, floored at 0 (a wall clock stepped back must not give a negative).
 * - Lists are newest first by id (ULIDs sort by creation), except queued runs asked for by `dueBefore`, which come in
 *   the order they are due.
 */
import { StoreError } from '../errors.ts';
import type { RunEnd, RunQuery } from '../types.ts';
import type { StatementCache } from './connection.ts';
import { checkKeepPerJob, endedAtMs, finishedTimes, runListLimit } from '../rows.ts';
import { toMs, type RunRow } from './rows.ts';

// SQLite text holds any string, so the shared new-run row is stored as it is (PostgreSQL's replaces NUL).
export { newRunRow } from '../rows.ts';

const RUN_COLUMNS = `id, job, attempt, status, reason, "trigger", exit_code, signal, scheduled_at, started_at,
  ended_at, duration_ms, pid, degraded, orphans_killed, node, chain_id, error, heartbeat_at, retry_after_at`;

const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS}) VALUES (@id, @job, @attempt, @status, @reason, @trigger,
  @exit_code, @signal, @scheduled_at, @started_at, @ended_at, @duration_ms, @pid, @degraded, @orphans_killed, @node,
  @chain_id, @error, @heartbeat_at, @retry_after_at)`;
const SELECT_RUN = `SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`;
const MARK_RUNNING = `UPDATE runs SET status = 'running', started_at = ?, node = ? WHERE id = ? AND status = 'queued'`;
const FINISH_RUNNING = `UPDATE runs SET status = ?, reason = ?, exit_code = ?, signal = ?, ended_at = ?,
  duration_ms = ?, orphans_killed = ?, error = ? WHERE id = ? AND status = 'running'`;
const CANCEL_QUEUED = `UPDATE runs SET status = ?, reason = ?, exit_code = ?, signal = ?, ended_at = ?,
  orphans_killed = ?, error = ? WHERE id = ? AND status = 'queued'`;
const SET_PID = `UPDATE runs SET pid = ? WHERE id = ? AND status = 'running'`;
const SET_HEARTBEAT = `UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`;
const COUNT_FAILURES = `SELECT COUNT(*) AS n FROM runs WHERE job = ? AND ended_at >= ?
  AND (status IN ('failed', 'timed_out') OR (status = 'killed' AND (reason IS NULL OR reason <> 'shutdown')))`;
const COUNT_LOST_IN_CHAIN = `SELECT COUNT(*) AS n FROM runs WHERE chain_id = ?
  AND (status = 'lost' OR (status = 'killed' AND reason = 'shutdown'))`;
// ROW_NUMBER() over the finished runs of each job; the same statement runs on PostgreSQL.
const PRUNE_RUNS = `DELETE FROM runs WHERE id IN (
  SELECT id FROM (
    SELECT id, ended_at, ROW_NUMBER() OVER (PARTITION BY job ORDER BY id DESC) AS newer
    FROM runs WHERE status NOT IN ('queued', 'running')
  ) ranked
  WHERE newer > ? OR ended_at < ?
)`;

export function insertRunRow(sql: StatementCache, row: RunRow): void {
  sql.get<RunRow>(INSERT_RUN).run(row);
}

export function getRunRow(sql: StatementCache, id: string): RunRow | undefined {
  return sql.get<[string], RunRow>(SELECT_RUN).get(id);
}

export function requireRunRow(sql: StatementCache, id: string): RunRow {
  const row = getRunRow(sql, id);
  if (row === undefined) throw new StoreError('not_found', `no run with id ${id}`);
  return row;
}

/** queued → running; false when the run was not queued (nothing written). */
/** queued → running on `node`, the one that started it (in a cluster, not always the one that queued it). */
export function markQueuedRunning(sql: StatementCache, id: string, startedMs: number, node: string): boolean {
  return sql.get<[number, string, string]>(MARK_RUNNING).run(startedMs, node, id).changes > 0;
}

export function finishRunningRow(sql: StatementCache, id: string, end: RunEnd): void {
  const { endedMs, durationMs } = finishedTimes(id, requireRunRow(sql, id), end);
  sql
    .get<[string, string | null, number | null, string | null, number, number, number, string | null, string]>(
      FINISH_RUNNING,
    )
    .run(end.status, end.reason, end.exit_code, end.signal, endedMs, durationMs, end.orphans_killed ?? 0, end.error ?? null, id);
}

export function cancelQueuedRow(sql: StatementCache, id: string, end: RunEnd): boolean {
  const endedMs = endedAtMs(end);
  return (
    sql
      .get<[string, string | null, number | null, string | null, number, number, string | null, string]>(CANCEL_QUEUED)
      .run(end.status, end.reason, end.exit_code, end.signal, endedMs, end.orphans_killed ?? 0, end.error ?? null, id)
      .changes > 0
  );
}

export function setRunPidRow(sql: StatementCache, id: string, pid: number): void {
  if (sql.get<[number, string]>(SET_PID).run(pid, id).changes > 0) return;
  const row = requireRunRow(sql, id);
  throw new StoreError('not_running', `cannot record pid ${pid} for run ${id}: it is ${row.status}, not running`);
}

export function listRunRows(sql: StatementCache, query: RunQuery): RunRow[] {
  const limit = runListLimit(query.limit);
  if (query.statuses !== undefined && query.statuses.length === 0) return [];

  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.job !== undefined) {
    where.push('job = ?');
    params.push(query.job);
  }
  if (query.statuses !== undefined) {
    where.push(`status IN (${query.statuses.map(() => '?').join(', ')})`);
    params.push(...query.statuses);
  }
  if (query.node !== undefined) {
    where.push('node = ?');
    params.push(query.node);
  }
  if (query.dueBefore !== undefined) {
    where.push(`status = 'queued'`, 'scheduled_at <= ?');
    params.push(toMs(query.dueBefore, 'dueBefore'));
  }
  const order = query.dueBefore !== undefined ? 'scheduled_at ASC, id ASC' : 'id DESC';
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const text = `SELECT ${RUN_COLUMNS} FROM runs ${filter} ORDER BY ${order} LIMIT ?`;
  return sql.get<(string | number)[], RunRow>(text).all(...params, limit);
}

// Each job's newest runs through runs_job_id (one indexed search per job, no scan of the history), and the running
// counts through runs_status_scheduled; `pos` is the job's place in the JSON array asked for.
const RECENT_BY_JOB = `SELECT j.key AS pos, ${RUN_COLUMNS.split(',').map((column) => `r.${column.trim()}`).join(', ')}
  FROM json_each(?) AS j JOIN runs AS r ON r.id IN (SELECT id FROM runs WHERE job = j.value ORDER BY id DESC LIMIT ?)
  ORDER BY j.key, r.id DESC`;
const RUNNING_BY_JOB = `SELECT job, COUNT(*) AS n FROM runs WHERE status = 'running' GROUP BY job`;

/** Store.jobRunSummaries: each job's `limit` newest rows (newest first) and running count, in `jobs`' order. */
export function jobRunSummaryRows(sql: StatementCache, jobs: readonly string[], limit: number): Array<{ job: string; recent: RunRow[]; running: number }> {
  const checked = runListLimit(limit);
  const summaries = jobs.map((job) => ({ job, recent: [] as RunRow[], running: 0 }));
  if (jobs.length === 0) return summaries;
  // `pos` stays on the row: runFromRow copies only the run's columns (a rest copy of each row cost more than the query).
  for (const row of sql.get<[string, number], RunRow & { pos: number }>(RECENT_BY_JOB).all(JSON.stringify(jobs), checked)) {
    summaries[row.pos]!.recent.push(row);
  }
  const running = new Map(sql.get<[], { job: string; n: number }>(RUNNING_BY_JOB).all().map((r) => [r.job, r.n]));
  for (const summary of summaries) summary.running = running.get(summary.job) ?? 0;
  return summaries;
}

export function countFailureRows(sql: StatementCache, job: string, since: string): number {
  return sql.get<[string, number], { n: number }>(COUNT_FAILURES).get(job, toMs(since, 'since'))?.n ?? 0;
}

export function countLostInChainRows(sql: StatementCache, chainId: string): number {
  return sql.get<[string], { n: number }>(COUNT_LOST_IN_CHAIN).get(chainId)?.n ?? 0;
}

export function pruneRunRows(sql: StatementCache, keepPerJob: number, olderThan: string): number {
  checkKeepPerJob(keepPerJob);
  return sql.get<[number, number]>(PRUNE_RUNS).run(keepPerJob, toMs(olderThan, 'olderThan')).changes;
}

export function setHeartbeatRow(sql: StatementCache, runId: string, at: string): boolean {
  return sql.get<[number, string]>(SET_HEARTBEAT).run(toMs(at, 'at'), runId).changes === 1;
}
