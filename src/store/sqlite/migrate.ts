/**
 * Applies pending migrations, each in its own `BEGIN IMMEDIATE` transaction.
 *
 * Two processes may migrate the same file at once (the daemon starting while a `nightshift exec` wrapper runs from
 * cron). Each migration's transaction first inserts its schema_migrations row; the second process waits for the
 * write lock (busy_timeout), finds the row there, rolls back and moves on, so nothing is applied twice — the same
 * scheme as graphile-worker's migrate.ts.
 */
import type { Database as Db } from 'better-sqlite3';
import { StoreError } from '../errors.ts';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

/**
 * The bookkeeping table is created outside any numbered migration because migration 1 has to record itself in it.
 * IF NOT EXISTS: two processes may both find it missing; the second one's CREATE waits for the first and is a no-op.
 */
const CREATE_SCHEMA_MIGRATIONS = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`;

export interface MigrateHooks {
  /** Called once the pending list is known, before the first transaction; lets tests line up two migrators. */
  onPending?(versions: readonly number[]): void;
}

/** Returns the versions this call applied (empty when another process applied them, or none were pending). */
export function applyMigrations(
  db: Db,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
  hooks: MigrateHooks = {},
): number[] {
  checkConsecutive(migrations);
  if (!hasSchemaMigrations(db)) db.exec(CREATE_SCHEMA_MIGRATIONS);

  const applied = appliedVersions(db);
  refuseNewer(path, applied, migrations);
  const pending = migrations.filter((m) => !applied.has(m.version));
  hooks.onPending?.(pending.map((m) => m.version));

  const insertRow = db.prepare<[number, string, number]>(
    `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING`,
  );
  const done: number[] = [];
  for (const migration of pending) {
    const apply = db.transaction(() => {
      // Row first: if another process got here before us, the insert changes nothing and we skip the SQL.
      if (insertRow.run(migration.version, migration.name, Date.now()).changes === 0) return false;
      db.exec(migration.sql);
      return true;
    });
    if (apply.immediate()) done.push(migration.version);
  }
  // A newer binary may have migrated past us while we waited for the lock.
  refuseNewer(path, appliedVersions(db), migrations);
  return done;
}

/** For read-only stores, which may not migrate: the schema must be exactly the one this binary knows. */
export function checkSchemaCurrent(db: Db, path: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const applied = hasSchemaMigrations(db) ? appliedVersions(db) : new Set<number>();
  refuseNewer(path, applied, migrations);
  const missing = migrations.filter((m) => !applied.has(m.version));
  if (missing.length > 0) {
    throw new StoreError(
      'schema_outdated',
      `${path} has schema version ${newest(applied)} but this nightshift needs ${newestKnown(migrations)}, and it ` +
        `was opened read-only: start the daemon (nightshift up) once to migrate it, then retry.`,
    );
  }
}

function refuseNewer(path: string, applied: ReadonlySet<number>, migrations: readonly Migration[]): void {
  const current = newest(applied);
  const known = newestKnown(migrations);
  if (current > known) {
    throw new StoreError(
      'schema_too_new',
      `${path} was written by a newer nightshift (schema version ${current}; this nightshift knows up to ` +
        `${known}): upgrade nightshift. The file was left untouched.`,
    );
  }
}

function hasSchemaMigrations(db: Db): boolean {
  return (
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() !== undefined
  );
}

function appliedVersions(db: Db): Set<number> {
  const rows = db.prepare<[], { version: number }>(`SELECT version FROM schema_migrations`).all();
  return new Set(rows.map((row) => row.version));
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
