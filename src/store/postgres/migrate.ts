/**
 * Applies pending migrations to the PostgreSQL schema the URL's search_path names (`public` by default).
 *
 * Several nodes start at once against one database. Each migrator first takes a session advisory lock on a fixed
 * key (`MIGRATION_LOCK_KEY`) on its own connection, so migrators run one after another: the first applies what is
 * pending, the next finds it applied and does nothing. Each migration also inserts its schema_migrations row first
 * inside its own transaction (as the SQLite migrator does), so even a migrator that ignored the lock could not apply
 * one twice. The migrator closes its session on the way out, which releases the lock (as a dying connection does).
 */
import type pg from 'pg';
import { StoreError } from '../errors.ts';
import { maskUrl, type Db } from './connection.ts';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

/**
 * The advisory lock key migrations serialise on: "nightshift migrate" as a number. Advisory locks are per database,
 * so two nightshift schemas in one database migrate one after another too, which is harmless.
 */
export const MIGRATION_LOCK_KEY = 7_236_837_314_153_001;

/** Outside any numbered migration: migration 1 has to record itself in it. */
const CREATE_SCHEMA_MIGRATIONS = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at BIGINT  NOT NULL
)`;

/** Returns the versions this call applied (empty when another node applied them, or none were pending). */
export async function applyMigrations(pool: pg.Pool, url: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkConsecutive(migrations);
  const client = await pool.connect();
  // Checked out, the client has no 'error' listener of the pool's: a connection lost between statements must fail the
  // next statement, not crash the process (connection.ts, transaction()). The session is destroyed on release anyway.
  client.on('error', () => {});
  try {
    // A migration may rewrite a big table, and waiting for another node's migration takes as long as that does: the
    // pool's statement timeout is lifted for this session, which is closed afterwards rather than reused.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await identify(client, url);
    await client.query(CREATE_SCHEMA_MIGRATIONS);
    const applied = await appliedVersions(client);
    refuseNewer(url, applied, migrations);
    const done: number[] = [];
    for (const migration of migrations.filter((m) => !applied.has(m.version))) {
      if (await applyOne(client, migration)) done.push(migration.version);
    }
    return done;
  } finally {
    // Closing the session releases the advisory lock with it, whatever happened above (a failed unlock on a broken
    // connection cannot leave it held), and drops the lifted timeout. Migrating happens once per process start.
    client.release(true);
  }
}

async function applyOne(client: Db, migration: Migration): Promise<boolean> {
  await client.query('BEGIN');
  try {
    const row = await client.query(
      `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING`,
      [migration.version, migration.name, Date.now()],
    );
    if (row.rowCount === 0) {
      await client.query('ROLLBACK');
      return false;
    }
    await client.query(migration.sql);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** For read-only stores, which may not migrate: the schema must be exactly the one this binary knows. */
export async function checkSchemaCurrent(db: Db, url: string, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  const applied = (await hasSchemaMigrations(db)) ? await appliedVersions(db) : new Set<number>();
  refuseNewer(url, applied, migrations);
  const missing = migrations.filter((m) => !applied.has(m.version));
  if (missing.length > 0) {
    throw new StoreError(
      'schema_outdated',
      `${maskUrl(url)} has schema version ${newest(applied)} but this nightshift needs ${newestKnown(migrations)}, ` +
        `and it was opened read-only: start the daemon (nightshift up) once to migrate it, then retry.`,
    );
  }
}

/** Refuses a schema that holds tables of some other program (tables, but no schema_migrations). */
async function identify(db: Db, url: string): Promise<void> {
  const schema = (await db.query<{ name: string | null }>(`SELECT current_schema() AS name`)).rows[0]?.name ?? null;
  if (schema === null) {
    throw new StoreError(
      'cannot_open',
      `${maskUrl(url)} names no existing schema in its search_path: create it (CREATE SCHEMA name AUTHORIZATION ` +
        `role) or fix the URL's options=-c search_path=….`,
    );
  }
  const { rows } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const tables = rows.map((row) => row.name);
  if (tables.length > 0 && !tables.includes('schema_migrations')) {
    const shown = tables.slice(0, 3).join(', ') + (tables.length > 3 ? ', …' : '');
    throw new StoreError(
      'foreign_database',
      `${maskUrl(url)} holds tables of another program in its schema (${shown}) and no schema_migrations. It was ` +
        `left untouched: give nightshift its own database, or its own schema (?options=-c%20search_path%3Dnightshift ` +
        `in the URL, after CREATE SCHEMA nightshift).`,
    );
  }
}

async function hasSchemaMigrations(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>(`SELECT to_regclass('schema_migrations')::text AS found`);
  return rows[0]?.found != null;
}

async function appliedVersions(db: Db): Promise<Set<number>> {
  const { rows } = await db.query<{ version: number }>(`SELECT version FROM schema_migrations`);
  return new Set(rows.map((row) => row.version));
}

function refuseNewer(url: string, applied: ReadonlySet<number>, migrations: readonly Migration[]): void {
  const current = newest(applied);
  const known = newestKnown(migrations);
  if (current > known) {
    throw new StoreError(
      'schema_too_new',
      `${maskUrl(url)} was migrated by a newer nightshift (schema version ${current}; this nightshift knows up to ` +
        `${known}): upgrade nightshift on this node. The database was left untouched.`,
    );
  }
}

function newest(versions: ReadonlySet<number>): number {
  return Math.max(0, ...versions);
}

function newestKnown(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

function checkConsecutive(migrations: readonly Migration[]): void {
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) {
      throw new Error(`migration list is broken: entry ${index} has version ${m.version}, expected ${index + 1}`);
    }
  });
}
