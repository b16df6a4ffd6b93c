/**
 * The PostgreSQL store: one database (or one schema in it, chosen by the URL's search_path) shared by every node.
 *
 * Single statements run on the pool in autocommit. Operations that read then write, or must commit together —
 * starting a run under its lock, finishing a run with its lock release and retry — run in one transaction on a client
 * checked out of the pool; the rows they decide on are locked (`FOR UPDATE`, or the conditional upsert in locks.ts)
 * so two nodes cannot both act on what they read. The SQL lives in the per-table modules beside this one.
 */
import type pg from 'pg';
import { StoreError } from '../errors.ts';
import { listNodeRows } from './nodes.ts';
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
import { createPool, maskUrl, Rollback, transaction, translatePgError, type Db } from './connection.ts';
import { advanceLastFireRow, getJobStateRow, listJobStateRows, setLastFireRow, setPausedRow } from './job-state.ts';
import { fireTaken } from '../rows.ts';
import { getLockRow, listLockRows, releaseLockRow, releaseRunLocks, renewLockRow, takeLock } from './locks.ts';
import { applyMigrations, checkSchemaCurrent } from './migrate.ts';
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
  lockQueuedRunRow,
  markQueuedRunning,
  newRunRow,
  pruneRunRows,
  setHeartbeatRow,
  setRunPidRow,
} from './runs.ts';
import { coordinationMethods } from './store-coordination.ts';
import { taskMethods } from './store-tasks.ts';
import { watchMethods, type StoreAccess, type WatchMethods } from './store-watch.ts';
import type { CoordinationStore } from '../coordination-types.ts';
import type { TaskStore } from '../task-types.ts';

export interface PostgresStoreOptions {
  /** Every session is read-only; `migrate()` only checks the schema version. */
  readonly?: boolean;
  /** Every connection's application_name (default `nightshift`). */
  applicationName?: string;
}

/**
 * Opens a pool on `url` (postgres://…). Nothing connects until the first call; call `migrate()` before anything else.
 * Errors name the URL with its password masked.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  checkUrl(url);
  return new PostgresStore(createPool(url, options), url, options.readonly ?? false);
}

/**
 * pg parses the URL only when it first connects; a URL it cannot parse is refused here instead, once, with the fix.
 * The parser's own error is not attached: it carries the input, password included, and a logger would print it.
 */
function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError(
      'invalid_argument',
      `${maskUrl(url)} is not a valid PostgreSQL URL: check its host and port, and %-encode characters such as @ : / # ` +
        `in the user name or password.`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StoreError('invalid_argument', `${maskUrl(url)} is not a postgres:// URL`);
  }
}

// The watching, containment, task and coordination methods come from the modules beside this one, assigned in the
// constructor (declaration merging gives the class their types).
interface PostgresStore extends WatchMethods, TaskStore, CoordinationStore {}

class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #readonly: boolean;
  #closed = false;

  constructor(pool: pg.Pool, url: string, readonly: boolean) {
    this.#pool = pool;
    this.#url = url;
    this.#readonly = readonly;
    const access: StoreAccess = {
      run: (operation) => this.#run(operation),
      tx: (body) => this.#tx(body),
    };
    Object.assign(this, watchMethods(access), taskMethods(access), coordinationMethods(access));
  }

  async migrate(): Promise<void> {
    await this.#run(async (db) => {
      if (this.#readonly) await checkSchemaCurrent(db, this.#url);
      else await applyMigrations(this.#pool, this.#url);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async startRun(run: NewRun, lock: LockRequest, startedAt: string): Promise<StartRunResult> {
    const startedMs = toMs(startedAt, 'startedAt');
    const row = newRunRow(run, { status: 'running', startedMs });
    return this.#tx(async (db): Promise<StartRunResult> => {
      // Run first: the lock row references it. When the lock is held the transaction rolls back, run included.
      await insertRunRow(db, row);
      const taken = await takeLock(db, lock, run.id, startedMs);
      if (!taken.taken) throw new Rollback<StartRunResult>({ started: false, heldBy: lockFromRow(taken.heldBy) });
      await advanceFire(db, run);
      return { started: true, run: runFromRow(row) };
    });
  }

  async startQueuedRun(runId: string, lock: LockRequest, startedAt: string): Promise<StartRunResult> {
    const startedMs = toMs(startedAt, 'startedAt');
    return this.#tx(async (db): Promise<StartRunResult> => {
      // The run's row stays locked to the end, so another node starting or cancelling it waits and then sees it moved.
      await lockQueuedRunRow(db, runId);
      const taken = await takeLock(db, lock, runId, startedMs);
      if (!taken.taken) throw new Rollback<StartRunResult>({ started: false, heldBy: lockFromRow(taken.heldBy) });
      const started = await markQueuedRunning(db, runId, startedMs, lock.holder.node);
      if (started === undefined) throw new StoreError('not_queued', `run ${runId} is no longer queued`);
      return { started: true, run: runFromRow(started) };
    });
  }

  async insertRun(run: NewRun, state: { status: 'queued' } | RunEnd): Promise<Run> {
    const row = newRunRow(run, state);
    if (!run.fire) {
      await this.#run((db) => insertRunRow(db, row));
      return runFromRow(row);
    }
    await this.#tx(async (db) => {
      await insertRunRow(db, row);
      await advanceFire(db, run);
    });
    return runFromRow(row);
  }

  async setRunPid(runId: string, pid: number): Promise<void> {
    await this.#run((db) => setRunPidRow(db, runId, pid));
  }

  async finishRun(runId: string, end: RunEnd, retry?: NewRun | null): Promise<Run> {
    const retryRow = retry == null ? null : newRunRow(retry, { status: 'queued' });
    return this.#tx(async (db) => {
      const finished = await finishRunningRow(db, runId, end);
      await releaseRunLocks(db, runId);
      if (retryRow !== null) await insertRunRow(db, retryRow);
      return runFromRow(finished);
    });
  }

  async cancelQueuedRun(runId: string, end: RunEnd): Promise<boolean> {
    return this.#run((db) => cancelQueuedRow(db, runId, end));
  }

  async getRun(id: string): Promise<Run | null> {
    return this.#run(async (db) => {
      const row = await getRunRow(db, id);
      return row === undefined ? null : runFromRow(row);
    });
  }

  async listRuns(query: RunQuery): Promise<Run[]> {
    return this.#run(async (db) => (await listRunRows(db, query)).map(runFromRow));
  }

  async jobRunSummaries(jobs: readonly string[], limit: number): Promise<JobRunSummary[]> {
    return this.#run(async (db) => (await jobRunSummaryRows(db, jobs, limit)).map((s) => ({ job: s.job, recent: s.recent.map(runFromRow), running: s.running })));
  }

  async listNodes(): Promise<ClusterNode[]> {
    return this.#run((db) => listNodeRows(db));
  }

  async countFailures(job: string, since: string): Promise<number> {
    return this.#run((db) => countFailureRows(db, job, since));
  }

  async countLostInChain(chainId: string): Promise<number> {
    return this.#run((db) => countLostInChainRows(db, chainId));
  }

  async getJobState(job: string): Promise<JobState> {
    return this.#run((db) => getJobStateRow(db, job));
  }

  async listJobStates(): Promise<JobState[]> {
    return this.#run((db) => listJobStateRows(db));
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    await this.#run((db) => setPausedRow(db, job, paused));
  }

  async setLastFire(job: string, at: string): Promise<void> {
    await this.#run((db) => setLastFireRow(db, job, at));
  }

  async acquireLock(lock: LockRequest, now: string): Promise<{ acquired: true } | { acquired: false; heldBy: LockRecord }> {
    const nowMs = toMs(now, 'now');
    return this.#run(async (db) => {
      const taken = await takeLock(db, lock, lock.holder.run_id, nowMs);
      return taken.taken ? { acquired: true as const } : { acquired: false as const, heldBy: lockFromRow(taken.heldBy) };
    });
  }

  async getLock(name: string): Promise<LockRecord | null> {
    return this.#run(async (db) => {
      const row = await getLockRow(db, name);
      return row === undefined ? null : lockFromRow(row);
    });
  }

  async listLocks(): Promise<LockRecord[]> {
    return this.#run(async (db) => (await listLockRows(db)).map(lockFromRow));
  }

  async releaseLock(name: string, token: string): Promise<boolean> {
    return this.#run((db) => releaseLockRow(db, name, token));
  }

  async renewLock(name: string, token: string, ttl_ms: number, now: string): Promise<boolean> {
    return this.#run((db) => renewLockRow(db, name, token, ttl_ms, now));
  }

  async pruneRuns(opts: { keepPerJob: number; olderThan: string }): Promise<PruneResult> {
    return this.#run(async (db) => ({ deleted: await pruneRunRows(db, opts.keepPerJob, opts.olderThan) }));
  }

  async recordHeartbeat(runId: string, at: string): Promise<boolean> {
    return this.#run((db) => setHeartbeatRow(db, runId, at));
  }

  /** Runs one operation on the pool, turning whatever pg throws into a StoreError that names the (masked) URL. */
  async #run<T>(operation: (db: Db) => Promise<T>): Promise<T> {
    this.#checkOpen();
    try {
      return await operation(this.#pool);
    } catch (err) {
      throw translatePgError(err, this.#url);
    }
  }

  /** BEGIN … COMMIT on one client; anything thrown rolls back. */
  async #tx<T>(body: (db: Db) => Promise<T>): Promise<T> {
    this.#checkOpen();
    try {
      return await transaction(this.#pool, body);
    } catch (err) {
      throw translatePgError(err, this.#url);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError('closed', `the store for ${maskUrl(this.#url)} is closed`);
  }
}

/** A fire's run and the job's fire cursor are written together (see NewRun.fire). */
async function advanceFire(db: Db, run: NewRun): Promise<void> {
  if (run.fire && !(await advanceLastFireRow(db, run.job, run.scheduled_at))) throw fireTaken(run);
}
