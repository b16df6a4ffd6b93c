/**
 * Opening the SQLite file safely, and turning SQLite's errors into `StoreError`s that say what to do.
 *
 * The file is never replaced, truncated or rewritten when something is wrong with it: the first thing done after
 * opening is a read, and only a file that reads as an (empty or nightshift) SQLite database gets any pragma that
 * writes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { StoreError } from '../errors.ts';

/** The daemon, `nightshift exec` wrappers and the CLI open the same file from different processes; a write waits this
 * long for another process's write transaction (they are all milliseconds long) before failing with `busy`. */
export const BUSY_TIMEOUT_MS = 5000;

export interface OpenOptions {
  readonly?: boolean;
}

export function openSqliteDatabase(path: string, options: OpenOptions = {}): Db {
  const readonly = options.readonly ?? false;
  if (readonly && !existsSync(path)) {
    throw new StoreError(
      'cannot_open',
      `${path} does not exist: nightshift creates it on the first start of the daemon (nightshift up) or of a ` +
        `nightshift exec; check state_dir in the config.`,
    );
  }
  if (!readonly) ensureParentDir(path);

  let db: Db;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw translateSqliteError(err, path);
  }
  try {
    identify(db, path);
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      // In WAL mode, NORMAL syncs the WAL at checkpoints rather than at every commit. A committed transaction is in
      // the WAL (in the OS page cache) before commit returns, so it survives the death of the process — kill -9 of
      // the daemon, which is the crash nightshift must lose nothing to. Only a power cut or kernel crash can undo the
      // last few commits, and even then the database stays consistent. FULL would fsync on every run start and end.
      db.pragma('synchronous = NORMAL');
    }
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw translateSqliteError(err, path);
  }
  return db;
}

function ensureParentDir(path: string): void {
  const dir = dirname(path);
  if (existsSync(dir)) return;
  try {
    // 0700: the state holds every run's command history and errors; nothing else on the host needs to read it.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new StoreError(
      'cannot_open',
      `cannot create the state directory ${dir} (${reason}): create it, owned by ${currentUser()}, or change state_dir.`,
      { cause: err },
    );
  }
}

/** Reads the schema (which validates the file header) and refuses SQLite files that some other program owns. */
function identify(db: Db, path: string): void {
  const tables = db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .all()
    .map((row) => row.name);
  if (tables.length > 0 && !tables.includes('schema_migrations')) {
    const shown = tables.slice(0, 3).join(', ') + (tables.length > 3 ? ', …' : '');
    throw new StoreError(
      'foreign_database',
      `${path} is an SQLite database but not a nightshift state database (it has tables ${shown} and no ` +
        `schema_migrations). It was left untouched: point state_dir at another directory, or move the file aside.`,
    );
  }
}

/** Maps anything better-sqlite3 throws to a `StoreError`; a `StoreError` passes through unchanged. */
export function translateSqliteError(err: unknown, path: string): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = sqliteCode(err);
  const aside = `mv ${path} ${path}.corrupt`;

  if (code === 'SQLITE_NOTADB') {
    return new StoreError(
      'not_a_database',
      `${path} is not a nightshift state database (${message}). It was left untouched: move it aside (${aside}) ` +
        `to start with an empty history, or restore a backup.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(
      'corrupt',
      `${path} is damaged (${message}). It was left untouched: stop nightshift, then salvage it ` +
        `(sqlite3 ${path} .recover | sqlite3 ${path}.recovered), move it aside (${aside}) to start with an empty ` +
        `history, or restore a backup.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code === 'SQLITE_AUTH') {
    return new StoreError(
      'cannot_open',
      `cannot open ${path} (${message}): check that it is a regular file and that ${currentUser()} may read and ` +
        `write it and its directory.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError(
      'readonly',
      `cannot write ${path} (${message}): it was opened read-only, or ${currentUser()} may not write the file or ` +
        `its directory.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError(
      'busy',
      `${path} stayed locked by another process for more than ${BUSY_TIMEOUT_MS / 1000} s (${message}): a long ` +
        `backup or a stuck nightshift process may hold it; try again.`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_CONSTRAINT_CHECK' || code === 'SQLITE_CONSTRAINT_NOTNULL') {
    return new StoreError('invalid_argument', `${path}: ${message}`, { cause: err });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new StoreError('conflict', `${path}: ${message}`, { cause: err });
  }
  if (err instanceof TypeError && /connection is not open/.test(message)) {
    return new StoreError('closed', `the store for ${path} is closed`, { cause: err });
  }
  if (code === 'SQLITE_FULL') {
    return new StoreError('internal', `cannot write ${path}: the disk is full (${message})`, { cause: err });
  }
  return new StoreError('internal', `${path}: ${message}`, { cause: err });
}

function sqliteCode(err: unknown): string {
  if (err instanceof Database.SqliteError) return err.code;
  return '';
}

function currentUser(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/**
 * Prepared statements, prepared on first use: they cannot be prepared at open time because the tables may not exist
 * until `migrate()` has run.
 */
export class StatementCache {
  readonly db: Db;
  readonly #statements = new Map<string, Statement<unknown[], unknown>>();

  constructor(db: Db) {
    this.db = db;
  }

  get<Params extends unknown[] | {} = unknown[], Row = unknown>(sql: string): Statement<Params, Row> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    // The cache is keyed by SQL text, and each call site pairs one SQL text with one parameter and row type.
    return statement as unknown as Statement<Params, Row>;
  }
}
