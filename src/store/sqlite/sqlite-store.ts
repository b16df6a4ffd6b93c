/**
 * The SQLite store: one file in the state directory, shared by the daemon, `nightshift exec` wrappers and the CLI.
 *
 * better-sqlite3 is synchronous, and every operation here is a handful of statements on a local file, so each method
 * does its work synchronously inside an async shell (the interface is async for the PostgreSQL dialect). Operations
 * that read then write — taking a lock, starting or finishing a run — run in `BEGIN IMMEDIATE` transactions: the write
 * lock is taken before the read, so two processes cannot both see a lock free. The SQL lives in the per-table modules
 * beside this one (runs.ts, locks.ts, job-state.ts).
 */
import type { Database as Db } from 'better-sqlite3';
import { StoreError } from '../errors.ts';
import type {
  ClusterNode,
  JobRunSummary,
  JobState,
  LockRecord,
  LockRequest,
  NewRun,
  PruneResult,
  Run,
  RunEnd,
  RunQuery,
  StartRunResult,
  Store,
} from '../types.ts';
import { openSqliteDatabase, StatementCache, translateSqliteError, type OpenOptions } from './connection.ts';
import { advanceLastFireRow, getJobStateRow, listJobStateRows, setLastFireRow, setPausedRow } from './job-state.ts';
import { fireTaken } from '../rows.ts';
import {
  checkLockFree,
  getLockRow,
  listLockRows,
  releaseLockRow,
  releaseRunLocks,
  renewLockRow,
  writeLock,
} from './locks.ts';
import { applyMigrations, checkSchemaCurrent } from './migrate.ts';
import { watchMethods, type WatchMethods } from './store-watch.ts';
import { coordinationMethods, type CoordinationMethods } from './store-coordination.ts';
import { taskMethods, type TaskMethods } from './store-tasks.ts';
import { lockFromRow, runFromRow, toMs } from './rows.ts';
import {
  cancelQueuedRow,
  countFailureRows,
  countLostInChainRows,
  finishRunningRow,
  getRunRow,
  insertRunRow,
  jobRunSummaryRows,
  listRunRows,
  markQueuedRunning,
  newRunRow,
  pruneRunRows,
  requireRunRow,
  setHeartbeatRow,
  setRunPidRow,
} from './runs.ts';

/**
 * Opens (creating if missing, unless read-only) the state database at `path`. Call `migrate()` before anything else.
 * Throws a StoreError — and leaves the file untouched — when it is not a usable nightshift database.
 */
export async function openSqliteStore(path: string, options: OpenOptions = {}): Promise<Store> {
  return new SqliteStore(openSqliteDatabase(path, options), path, options.readonly ?? false);
}

// The watching and containment methods come from store-watch.ts, assigned in the constructor (declaration merging
// gives the class their types).
interface SqliteStore extends WatchMethods, CoordinationMethods, TaskMethods {}

class SqliteStore implements Store {
  readonly #db: Db;
  readonly #sql: StatementCache;
  readonly #path: string;
  readonly #readonly: boolean;
  #closed = false;

  constructor(db: Db, path: string, readonly: boolean) {
    this.#db = db;
    this.#sql = new StatementCache(db);
    this.#path = path;
    this.#readonly = readonly;
    Object.assign(this, watchMethods({ sql: this.#sql, run: (operation) => this.#do(operation), tx: (body) => this.#immediate(body) }));
    Object.assign(this, coordinationMethods({ sql: this.#sql, run: (operation) => this.#do(operation), tx: (body) => this.#immediate(body) }));
    Object.assign(this, taskMethods({ sql: this.#sql, run: (operation) => this.#do(operation), tx: (body) => this.#immediate(body) }));
  }

  async migrate(): Promise<void> {
    this.#do(() => {
      if (this.#readonly) checkSchemaCurrent(this.#db, this.#path);
      else applyMigrations(this.#db, this.#path);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  async startRun(run: NewRun, lock: LockRequest, startedAt: string): Promise<StartRunResult> {
    return this.#do(() => {
      const startedMs = toMs(startedAt, 'startedAt');
      const row = newRunRow(run, { status: 'running', startedMs });
      return this.#immediate((): StartRunResult => {
        const free = checkLockFree(this.#sql, lock, startedMs);
        if (!free.taken) return { started: false, heldBy: lockFromRow(free.heldBy) };
        // Run first: the lock row references it.
        insertRunRow(this.#sql, row);
        this.#advanceFire(run);
        writeLock(this.#sql, lock, run.id, startedMs);
        return { started: true, run: runFromRow(row) };
      });
    });
  }

  async startQueuedRun(runId: string, lock: LockRequest, startedAt: string): Promise<StartRunResult> {
    return this.#do(() => {
      const startedMs = toMs(startedAt, 'startedAt');
      return this.#immediate((): StartRunResult => {
        const current = requireRunRow(this.#sql, runId);
        if (current.status !== 'queued') {
          throw new StoreError(
            'not_queued',
            `run ${runId} is no longer queued (it is ${current.status}): another process started or cancelled it`,
          );
        }
        const free = checkLockFree(this.#sql, lock, startedMs);
        if (!free.taken) return { started: false, heldBy: lockFromRow(free.heldBy) };
        markQueuedRunning(this.#sql, runId, startedMs, lock.holder.node);
        writeLock(this.#sql, lock, runId, startedMs);
        return { started: true, run: runFromRow(requireRunRow(this.#sql, runId)) };
      });
    });
  }

  async insertRun(run: NewRun, state: { status: 'queued' } | RunEnd): Promise<Run> {
    return this.#do(() => {
      const row = newRunRow(run, state);
      this.#immediate(() => {
        insertRunRow(this.#sql, row);
        this.#advanceFire(run);
      });
      return runFromRow(row);
    });
  }

  async setRunPid(runId: string, pid: number): Promise<void> {
    this.#do(() => setRunPidRow(this.#sql, runId, pid));
  }

  async finishRun(runId: string, end: RunEnd, retry?: NewRun | null): Promise<Run> {
    return this.#do(() => {
      const retryRow = retry == null ? null : newRunRow(retry, { status: 'queued' });
      return this.#immediate(() => {
        finishRunningRow(this.#sql, runId, end);
        releaseRunLocks(this.#sql, runId);
        if (retryRow !== null) insertRunRow(this.#sql, retryRow);
        return runFromRow(requireRunRow(this.#sql, runId));
      });
    });
  }

  async cancelQueuedRun(runId: string, end: RunEnd): Promise<boolean> {
    return this.#do(() => cancelQueuedRow(this.#sql, runId, end));
  }

  async getRun(id: string): Promise<Run | null> {
    return this.#do(() => {
      const row = getRunRow(this.#sql, id);
      return row === undefined ? null : runFromRow(row);
    });
  }

  async listRuns(query: RunQuery): Promise<Run[]> {
    return this.#do(() => listRunRows(this.#sql, query).map(runFromRow));
  }

  /** One SQLite file has one node, the daemon itself: no cluster to list. */
  async listNodes(): Promise<ClusterNode[]> {
    this.#do(() => undefined); // a closed store still says so
    return [];
  }

  async jobRunSummaries(jobs: readonly string[], limit: number): Promise<JobRunSummary[]> {
    return this.#do(() => jobRunSummaryRows(this.#sql, jobs, limit).map((s) => ({ job: s.job, recent: s.recent.map(runFromRow), running: s.running })));
  }

  async countFailures(job: string, since: string): Promise<number> {
    return this.#do(() => countFailureRows(this.#sql, job, since));
  }

  async countLostInChain(chainId: string): Promise<number> {
    return this.#do(() => countLostInChainRows(this.#sql, chainId));
  }

  async getJobState(job: string): Promise<JobState> {
    return this.#do(() => getJobStateRow(this.#sql, job));
  }

  async listJobStates(): Promise<JobState[]> {
    return this.#do(() => listJobStateRows(this.#sql));
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    this.#do(() => setPausedRow(this.#sql, job, paused));
  }

  async setLastFire(job: string, at: string): Promise<void> {
    this.#do(() => setLastFireRow(this.#sql, job, at));
  }

  async acquireLock(
    lock: LockRequest,
    now: string,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: LockRecord }> {
    return this.#do(() => {
      const nowMs = toMs(now, 'now');
      return this.#immediate(() => {
        const free = checkLockFree(this.#sql, lock, nowMs);
        if (!free.taken) return { acquired: false as const, heldBy: lockFromRow(free.heldBy) };
        writeLock(this.#sql, lock, lock.holder.run_id, nowMs);
        return { acquired: true as const };
      });
    });
  }

  async getLock(name: string): Promise<LockRecord | null> {
    return this.#do(() => {
      const row = getLockRow(this.#sql, name);
      return row === undefined ? null : lockFromRow(row);
    });
  }

  async listLocks(): Promise<LockRecord[]> {
    return this.#do(() => listLockRows(this.#sql).map(lockFromRow));
  }

  async releaseLock(name: string, token: string): Promise<boolean> {
    return this.#do(() => releaseLockRow(this.#sql, name, token));
  }

  async renewLock(name: string, token: string, ttl_ms: number, now: string): Promise<boolean> {
    return this.#do(() => renewLockRow(this.#sql, name, token, ttl_ms, now));
  }

  async pruneRuns(opts: { keepPerJob: number; olderThan: string }): Promise<PruneResult> {
    return this.#do(() => ({ deleted: pruneRunRows(this.#sql, opts.keepPerJob, opts.olderThan) }));
  }

  async recordHeartbeat(runId: string, at: string): Promise<boolean> {
    return this.#do(() => setHeartbeatRow(this.#sql, runId, at));
  }

  /** Runs one operation, turning whatever SQLite throws into a StoreError that names the file. */
  #do<T>(operation: () => T): T {
    if (this.#closed) throw new StoreError('closed', `the store for ${this.#path} is closed`);
    try {
      return operation();
    } catch (err) {
      throw translateSqliteError(err, this.#path);
    }
  }

  /** A fire's run and the job's fire cursor are written together (see NewRun.fire). */
  #advanceFire(run: NewRun): void {
    if (run.fire && !advanceLastFireRow(this.#sql, run.job, run.scheduled_at)) throw fireTaken(run);
  }

  /** BEGIN IMMEDIATE … COMMIT; anything thrown rolls back. */
  #immediate<T>(body: () => T): T {
    return this.#db.transaction(body).immediate();
  }
}
