/** Migrations on a real SQLite file: applied once, in order, each all-or-nothing; newer databases are refused. */
import { join } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStoreError } from '../../src/store/errors.ts';
import { openSqliteDatabase } from '../../src/store/sqlite/connection.ts';
import { applyMigrations } from '../../src/store/sqlite/migrate.ts';
import { MIGRATIONS, type Migration } from '../../src/store/sqlite/migrations/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const tmp = useTempDir();

function openDb(): { db: Db; path: string } {
  const path = join(tmp.path, 'state.db');
  const db = openSqliteDatabase(path);
  tmp.onCleanup(() => {
    db.close();
  });
  return { db, path };
}

function versions(db: Db): number[] {
  return db
    .prepare<[], { version: number }>('SELECT version FROM schema_migrations ORDER BY version')
    .all()
    .map((r) => r.version);
}

function tables(db: Db): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .all()
    .map((r) => r.name);
}

const next: Migration = { version: MIGRATIONS.length + 1, name: 'test_next', sql: 'CREATE TABLE test_next (x INTEGER)' };

describe('applyMigrations', () => {
  it('applies every migration once and records it', () => {
    const { db, path } = openDb();
    expect(applyMigrations(db, path)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(applyMigrations(db, path)).toEqual([]);
    expect(versions(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(tables(db)).toEqual(['breakers', 'checks', 'incidents', 'job_state', 'locks', 'outbox', 'outputs', 'pings', 'queue_state', 'runs', 'schema_migrations', 'state', 'state_log', 'task_claims', 'task_failures', 'tasks']);
  });

  it('applies only what is pending', () => {
    const { db, path } = openDb();
    applyMigrations(db, path);
    expect(applyMigrations(db, path, [...MIGRATIONS, next])).toEqual([next.version]);
    expect(tables(db)).toContain('test_next');
  });

  it('rolls a failing migration back whole, its schema_migrations row included', () => {
    const { db, path } = openDb();
    applyMigrations(db, path);
    const broken: Migration = { ...next, sql: 'CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;' };
    expect(() => applyMigrations(db, path, [...MIGRATIONS, broken])).toThrow();
    expect(tables(db)).not.toContain('half_done');
    expect(versions(db)).toEqual(MIGRATIONS.map((m) => m.version));
    // Fixed, it applies on the next start.
    expect(applyMigrations(db, path, [...MIGRATIONS, next])).toEqual([next.version]);
  });

  it('refuses a list with gaps', () => {
    const { db, path } = openDb();
    expect(() => applyMigrations(db, path, [{ ...next, version: 7 }])).toThrow(/expected 1/);
  });

  it('refuses a database migrated by a newer nightshift, naming the file and both versions', async () => {
    const path = join(tmp.path, 'state.db');
    const newer = openSqliteDatabase(path);
    applyMigrations(newer, path, [...MIGRATIONS, next]);
    newer.close();

    const store = await openSqliteStore(path);
    tmp.onCleanup(() => store.close());
    const error = await store.migrate().then(
      () => null,
      (err: unknown) => err,
    );
    expect(isStoreError(error, 'schema_too_new')).toBe(true);
    expect(String((error as Error).message)).toBe(
      `${path} was written by a newer nightshift (schema version ${next.version}; this nightshift knows up to ` +
        `${MIGRATIONS.length}): upgrade nightshift. The file was left untouched.`,
    );
  });
});
