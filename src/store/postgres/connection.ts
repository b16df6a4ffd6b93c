/**
 * The PostgreSQL connection pool, the one query surface the table modules see (`Db`), transactions on a checked-out
 * client, and the translation of PostgreSQL's errors into `StoreError`s.
 *
 * The database URL carries its password, so it is never shown as given: every message names `maskUrl(url)`.
 */
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { POSTGRES_POOL } from '../../config/defaults.ts';
import { parseDuration } from '../../config/units.ts';
import { StoreError } from '../errors.ts';

/** What the table modules run SQL on: the pool (one statement, autocommit) or a client inside a transaction. */
export interface Db {
  query<Row extends QueryResultRow = QueryResultRow>(text: string | PreparedQuery, values?: readonly unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/**
 * A statement prepared once per connection under `name` (pg sends Parse only the first time a connection runs it):
 * for the hot path of task workers, where parsing and planning the same call on every task cost the server more
 * than running it. A name must always go with the same text.
 */
export interface PreparedQuery {
  name: string;
  text: string;
}

export interface PoolOptions {
  /** Every session is read-only (`default_transaction_read_only`): a store opened read-only. */
  readonly?: boolean;
  /** Every connection's application_name (default `nightshift`; a daemon's: src/cluster/membership.ts sessionName). */
  applicationName?: string;
}

const INT8_OID = 20;

/**
 * Times are BIGINT epoch milliseconds and counts come back as BIGINT (COUNT, SUM); pg returns int8 as a string by
 * default because it can exceed 2^53. Nothing nightshift stores comes near that, so int8 is read as a number — set
 * on this pool's clients only, not on pg's global parsers, so other pg users in the process are unaffected.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new StoreError('internal', `the database returned ${text}, beyond a safe integer`);
  return value;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** How much longer than statement_timeout the client waits for an answer before giving up on the server. */
const QUERY_TIMEOUT_MARGIN_MS = 5_000;

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.readonly ? withReadOnlySessions(url) : url,
    max: POSTGRES_POOL.max_connections,
    idleTimeoutMillis: parseDuration(POSTGRES_POOL.idle_timeout),
    connectionTimeoutMillis: parseDuration(POSTGRES_POOL.connect_timeout),
    statement_timeout: parseDuration(POSTGRES_POOL.statement_timeout),
    // The server ends a long statement; this ends the wait for a server that no longer answers at all (a network cut
    // sends no reset, and TCP would take minutes to give up). A little longer, so a statement the server cancels
    // reports the server's reason.
    query_timeout: parseDuration(POSTGRES_POOL.statement_timeout) + QUERY_TIMEOUT_MARGIN_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idle_in_transaction_session_timeout: parseDuration(POSTGRES_POOL.idle_in_transaction_timeout),
    application_name: options.applicationName ?? 'nightshift',
    types: typeParsers,
  });
  // An idle connection the server dropped (restart, failover, idle timeout) emits 'error' on the pool; unhandled, it
  // would crash the daemon. The pool discards that client and the next query opens a fresh connection.
  pool.on('error', () => {});
  return pool;
}

/**
 * One connection of its own, outside the pool, with the pool's settings: a cluster node's session holds its leader lock
 * and LISTENs, which a pooled connection (checked out per statement) cannot (src/cluster/postgres-membership.ts).
 */
export function createSessionClient(url: string, applicationName: string, queryTimeoutMs: number): pg.Client {
  return new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: parseDuration(POSTGRES_POOL.connect_timeout),
    statement_timeout: parseDuration(POSTGRES_POOL.statement_timeout),
    // A network cut sends no reset: without a timeout of its own a query would wait for TCP to give up (minutes).
    query_timeout: queryTimeoutMs,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types: typeParsers,
  });
}

/**
 * Read-only sessions, set at connection start (libpq's `options` parameter) so no statement can run before it. It goes
 * into the URL because pg lets the URL's parameters win over the config object's; a search_path given there is kept.
 */
function withReadOnlySessions(url: string): string {
  const parsed = new URL(url);
  const given = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${given === null ? '' : `${given} `}-c default_transaction_read_only=on`);
  return parsed.toString();
}

/** Thrown inside `transaction` to roll back and still return a value (e.g. "the lock is held"); never escapes it. */
export class Rollback<T> extends Error {
  readonly value: T;
  constructor(value: T) {
    super('rolled back on purpose');
    this.value = value;
  }
}

/**
 * BEGIN … COMMIT on one client checked out of the pool; anything thrown rolls back (a `Rollback` returns its value).
 * A client whose ROLLBACK failed is broken (connection lost) and is destroyed rather than returned to the pool.
 */
export async function transaction<T>(pool: pg.Pool, body: (db: Db) => Promise<T>): Promise<T> {
  const client: PoolClient = await pool.connect();
  let broken = false;
  // pg-pool takes its 'error' listener off a client while it is checked out: a connection the server ends between two
  // statements (a restart, a failover) would then emit an unhandled 'error' and crash the daemon. The next statement
  // fails instead, and the client is destroyed rather than pooled.
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    if (err instanceof Rollback) return err.value as T;
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** The URL with its password replaced by `***`, safe for messages and logs. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    // libpq also takes the password as a query parameter.
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    // Not parseable as a URL: mask anything between "user:" and "@" by hand.
    return url.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/password=[^&]*/gi, 'password=***');
  }
}

/** SQLSTATE classes and codes nightshift tells apart (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const NOT_NULL_VIOLATION = '23502';
const CHECK_VIOLATION = '23514';
const READ_ONLY_TRANSACTION = '25006';
const QUERY_CANCELED = '57014';
const LOCK_NOT_AVAILABLE = '55P03';
const DEADLOCK_DETECTED = '40P01';
const SERIALIZATION_FAILURE = '40001';
const TOO_MANY_CONNECTIONS = '53300';
const INVALID_PASSWORD = '28P01';
const INVALID_AUTHORIZATION = '28000';
const INVALID_CATALOG_NAME = '3D000';
const CANNOT_CONNECT_NOW = '57P03';
const ADMIN_SHUTDOWN = '57P01';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Maps anything pg throws to a `StoreError` that names the (masked) database; a `StoreError` passes through. */
export function translatePgError(err: unknown, url: string): StoreError {
  if (err instanceof StoreError) return err;
  const where = maskUrl(url);
  const message = err instanceof Error ? err.message : String(err);
  const code = errorCode(err);
  const detail = pgDetail(err);

  if (code === UNIQUE_VIOLATION || code === FOREIGN_KEY_VIOLATION) {
    return new StoreError('conflict', `${where}: ${message}${detail}`, { cause: err });
  }
  if (code === NOT_NULL_VIOLATION || code === CHECK_VIOLATION || code.startsWith('22')) {
    return new StoreError('invalid_argument', `${where}: ${message}${detail}`, { cause: err });
  }
  if (code === READ_ONLY_TRANSACTION) {
    return new StoreError('readonly', `cannot write ${where} (${message}): the store was opened read-only`, { cause: err });
  }
  if (code === QUERY_CANCELED || code === LOCK_NOT_AVAILABLE || code === DEADLOCK_DETECTED || code === SERIALIZATION_FAILURE) {
    return new StoreError(
      'busy',
      `${where} did not finish a statement in time (${message}): another node or a long query may hold the rows it ` +
        `needs (statement_timeout ${POSTGRES_POOL.statement_timeout}); try again.`,
      { cause: err },
    );
  }
  if (code === INVALID_PASSWORD || code === INVALID_AUTHORIZATION) {
    return new StoreError(
      'cannot_open',
      `cannot log in to ${where} (${message}): check the user and password in the store URL (or NIGHTSHIFT_DATABASE_URL).`,
      { cause: err },
    );
  }
  if (code === INVALID_CATALOG_NAME) {
    return new StoreError(
      'cannot_open',
      `cannot open ${where} (${message}): create the database first (createdb, or CREATE DATABASE), then retry.`,
      { cause: err },
    );
  }
  if (code === TOO_MANY_CONNECTIONS) {
    return new StoreError(
      'cannot_open',
      `${where} refused a connection (${message}): the server's max_connections is used up; each nightshift process ` +
        `opens at most ${POSTGRES_POOL.max_connections}.`,
      { cause: err },
    );
  }
  if (NETWORK_CODES.has(code) || code === CANNOT_CONNECT_NOW || code === ADMIN_SHUTDOWN || isConnectionLoss(message)) {
    return new StoreError(
      'cannot_open',
      `cannot reach ${where} (${message}): check that PostgreSQL is running and reachable from this host, and the ` +
        `host and port in the store URL (or NIGHTSHIFT_DATABASE_URL).`,
      { cause: err },
    );
  }
  if (/Cannot use a pool after calling end/i.test(message)) {
    return new StoreError('closed', `the store for ${where} is closed`, { cause: err });
  }
  return new StoreError('internal', `${where}: ${message}${detail}`, { cause: err });
}

function isConnectionLoss(message: string): boolean {
  // "Query read timeout": pg's query_timeout — the server stopped answering (createPool says why it is set).
  return /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Query read timeout/i.test(message);
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return '';
}

/** PostgreSQL's `detail` (e.g. "Key (id)=(01J…) already exists."), which says which value broke a rule. */
function pgDetail(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'detail' in err && typeof err.detail === 'string') return ` (${err.detail})`;
  return '';
}
