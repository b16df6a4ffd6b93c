/**
 * `nightshift migrate-store`: copies a SQLite state (runs, checks and pings, incidents and their notifications, job
 * state, breakers and outputs, tasks and queue state, shared state and its log) into an empty PostgreSQL database, so
 * a user moving to several nodes keeps the history. Ids and times are kept as they are.
 *
 * Safety, in order:
 * - The source is migrated to this nightshift's schema (as any daemon start would) and then held with `BEGIN
 *   IMMEDIATE` for the whole copy: other processes can still read it but nothing can write it, so the copy is one
 *   consistent snapshot and a daemon started meanwhile fails (`busy`) instead of writing history that would be lost.
 * - While holding it, a live holder of any lock in it (the daemon's instance lock, an `exec` wrapper's job lock, a
 *   `nightshift lock`) refuses the copy: that process would go on writing to the SQLite file.
 * - The target is migrated, then must be empty: every table but schema_migrations has no row. A non-empty target is
 *   refused rather than merged or overwritten; the fix is a fresh database or schema.
 * - Everything is written in one PostgreSQL transaction, and the row counts of every table are compared with the
 *   source's before it commits: a failure or a mismatch leaves the target as it was (migrated, empty).
 */
import { existsSync } from 'node:fs';
import type { Database as Db } from 'better-sqlite3';
import { MIGRATE_STORE } from '../config/defaults.ts';
import { StoreError } from './errors.ts';
import { createPool, maskUrl, transaction, translatePgError } from './postgres/connection.ts';
import { applyMigrations as migratePostgres } from './postgres/migrate.ts';
import { MIGRATIONS as PG_MIGRATIONS } from './postgres/migrations/index.ts';
import { openSqliteDatabase, translateSqliteError } from './sqlite/connection.ts';
import { applyMigrations as migrateSqlite } from './sqlite/migrate.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from './sqlite/migrations/index.ts';
import { checkSourceColumns, copyTable, countSource, countTarget, NOT_COPIED, targetTables, type Table } from './migrate-store-tables.ts';

/** The daemon's instance lock row (src/daemon/instance-lock.ts), named in the refusal so the user knows what to stop. */
const DAEMON_LOCK = 'daemon';

export interface MigrateStoreOptions {
  /** The SQLite state file. */
  from: string;
  /** postgres://… of an empty (or not yet migrated) database or schema. */
  to: string;
  /** Whether a lock holder recorded in the source is still alive on this host (its pid and /proc start time). */
  isAlive(pid: number, pidStart: number | null): Promise<boolean>;
  /** Rows per INSERT (default MIGRATE_STORE.batch_rows). */
  batchRows?: number;
  /** Called after each table is copied, for progress output. */
  onTable?(table: string, rows: number): void;
}

export interface MigrateStoreResult {
  /** Rows copied per table, in the order copied; each was checked equal to the source's count before commit. */
  tables: Array<{ table: string; rows: number }>;
  /** Tables left out, with why. */
  skipped: Array<{ table: string; why: string }>;
  schemaVersion: number;
}

export type MigrateRefusal = 'source_missing' | 'source_in_use' | 'target_not_empty' | 'schema_mismatch';

/** Why nothing was copied: the user can fix it (stop the daemon, use a fresh schema …); the message says how. */
export class MigrateStoreRefused extends Error {
  override readonly name = 'MigrateStoreRefused';
  readonly code: MigrateRefusal;
  constructor(code: MigrateRefusal, message: string) {
    super(message);
    this.code = code;
  }
}

export async function migrateStore(options: MigrateStoreOptions): Promise<MigrateStoreResult> {
  if (!existsSync(options.from)) {
    throw new MigrateStoreRefused('source_missing', `${options.from} does not exist: name the SQLite state with --from FILE (state_dir/state.db).`);
  }
  const source = openSqliteDatabase(options.from);
  try {
    try {
      migrateSqlite(source, options.from);
    } catch (err) {
      throw translateSqliteError(err, options.from);
    }
    return await holdingSource(source, options.from, async () => {
      await refuseLiveHolders(source, options);
      return copyInto(source, options);
    });
  } finally {
    source.close();
  }
}

/** Runs `body` while this connection holds the source's write lock, so no other process writes during the copy. */
async function holdingSource<T>(source: Db, path: string, body: () => Promise<T>): Promise<T> {
  try {
    source.exec('BEGIN IMMEDIATE');
  } catch (err) {
    throw translateSqliteError(err, path);
  }
  try {
    return await body();
  } finally {
    // Nothing was written to the source inside: rolling back only lets go of the lock.
    source.exec('ROLLBACK');
  }
}

async function refuseLiveHolders(source: Db, options: MigrateStoreOptions): Promise<void> {
  const locks = source
    .prepare<[], { name: string; pid: number; pid_start: number | null; run_id: string | null }>(`SELECT name, pid, pid_start, run_id FROM locks ORDER BY name`)
    .all();
  for (const lock of locks) {
    if (!(await options.isAlive(lock.pid, lock.pid_start))) continue;
    if (lock.name === DAEMON_LOCK) {
      throw new MigrateStoreRefused(
        'source_in_use',
        `a nightshift daemon (pid ${lock.pid}) is running on ${options.from}: stop it first (systemctl stop nightshift, or kill ${lock.pid}) ` +
          `so nothing changes while the state is copied; nothing was copied.`,
      );
    }
    const what = lock.run_id === null ? `pid ${lock.pid}` : `run ${lock.run_id} (pid ${lock.pid})`;
    throw new MigrateStoreRefused(
      'source_in_use',
      `lock ${lock.name} in ${options.from} is held by ${what}, which is still running and writes to this state: wait for it to end ` +
        `(or stop it) and pause the cron lines that call nightshift exec or nightshift lock; nothing was copied.`,
    );
  }
}

async function copyInto(source: Db, options: MigrateStoreOptions): Promise<MigrateStoreResult> {
  const where = maskUrl(options.to);
  const sqliteVersion = newestVersion(source);
  const known = PG_MIGRATIONS.at(-1)?.version ?? 0;
  if (sqliteVersion !== known || (SQLITE_MIGRATIONS.at(-1)?.version ?? 0) !== known) {
    throw new MigrateStoreRefused(
      'schema_mismatch',
      `${options.from} has schema version ${sqliteVersion} and this nightshift writes version ${known} to PostgreSQL: use the ` +
        `nightshift that last ran on this state (or upgrade it and start the daemon once); nothing was copied.`,
    );
  }
  const pool = createPool(options.to);
  try {
    await migratePostgres(pool, options.to);
    return await transaction(pool, async (db) => {
      const tables = await targetTables(db);
      const occupied: string[] = [];
      for (const table of tables) if ((await countTarget(db, table.name)) > 0) occupied.push(table.name);
      if (occupied.length > 0) {
        throw new MigrateStoreRefused(
          'target_not_empty',
          `${where} already holds nightshift data (${occupied.slice(0, 4).join(', ')}${occupied.length > 4 ? ', …' : ''} have rows): ` +
            `migrate-store only copies into an empty database, so nothing is merged or overwritten. Use a fresh database ` +
            `(createdb) or schema (CREATE SCHEMA …; ?options=-c%20search_path%3D… in the URL); nothing was copied.`,
        );
      }
      const copied: MigrateStoreResult['tables'] = [];
      for (const table of tables) {
        checkSourceColumns(source, table, options.from);
        const rows = await copyTable(source, db, table, options.batchRows ?? MIGRATE_STORE.batch_rows);
        copied.push({ table: table.name, rows });
        options.onTable?.(table.name, rows);
      }
      await verifyCounts(source, db, tables, where, options.from);
      return {
        tables: copied,
        skipped: Object.entries(NOT_COPIED).map(([table, why]) => ({ table, why })),
        schemaVersion: known,
      };
    });
  } catch (err) {
    if (err instanceof MigrateStoreRefused) throw err;
    throw translatePgError(err, options.to);
  } finally {
    await pool.end();
  }
}

/** Inside the transaction, before commit: a mismatch rolls the whole copy back. */
async function verifyCounts(source: Db, db: Parameters<typeof countTarget>[0], tables: Table[], where: string, from: string): Promise<void> {
  for (const table of tables) {
    const [expected, found] = [countSource(source, table.name), await countTarget(db, table.name)];
    if (expected !== found) {
      throw new StoreError(
        'internal',
        `${where}: table ${table.name} has ${found} rows after the copy but ${from} has ${expected}; the copy was rolled back ` +
          `and the target left empty. Report this as a bug.`,
      );
    }
  }
}

function newestVersion(source: Db): number {
  return source.prepare<[], { v: number | null }>(`SELECT MAX(version) AS v FROM schema_migrations`).get()?.v ?? 0;
}
