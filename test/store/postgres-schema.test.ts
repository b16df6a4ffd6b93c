/**
 * The two dialects' schemas cannot drift apart: the same numbered migrations with the same names, and after them the
 * same tables, columns and named indexes. A migration added to SQLite alone fails here, naming what PostgreSQL lacks.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/store/postgres/migrations/index.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { applyMigrations } from '../../src/store/sqlite/migrate.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index.ts';
import type { Store } from '../../src/store/types.ts';
import { usePostgres, type TestSchema } from '../helpers/postgres.ts';

/** Indexes only PostgreSQL has, and why: it does not index a referencing column by itself (SQLite's cascades scan). */
const POSTGRES_ONLY_INDEXES = new Set(['locks_run']);
/** A cluster's members (migration 0009): one SQLite file has one node and no table for it. */
const POSTGRES_ONLY_TABLES = new Set(['nodes']);

type Shape = { tables: Record<string, string[]>; indexes: string[] };

const pg = usePostgres();
let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

function sqliteShape(): Shape {
  const db = new Database(':memory:');
  try {
    applyMigrations(db, ':memory:');
    const names = db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .all()
      .map((row) => row.name);
    const tables = Object.fromEntries(
      names.map((table) => [table, db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all().map((c) => c.name).sort()]),
    );
    const indexes = db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
      .all()
      .map((row) => row.name);
    return { tables, indexes };
  } finally {
    db.close();
  }
}

async function postgresShape(): Promise<Shape> {
  const schema: TestSchema = await pg.createSchema();
  cleanup.push(() => schema.drop());
  const store: Store = await openPostgresStore(schema.url);
  cleanup.push(() => store.close());
  await store.migrate();
  const columns = await pg.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, column_name`,
    [schema.name],
  );
  const tables: Record<string, string[]> = {};
  for (const { table_name, column_name } of columns) if (!POSTGRES_ONLY_TABLES.has(table_name)) (tables[table_name] ??= []).push(column_name);
  // Named indexes only: those behind a PRIMARY KEY or UNIQUE constraint are implicit in both dialects.
  const indexes = await pg.query<{ indexname: string }>(
    `SELECT i.relname AS indexname FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_namespace n ON n.oid = i.relnamespace
     WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
     ORDER BY i.relname`,
    [schema.name],
  );
  return { tables, indexes: indexes.map((row) => row.indexname).filter((name) => !POSTGRES_ONLY_INDEXES.has(name)) };
}

describe('PostgreSQL and SQLite schemas', () => {
  it('have the same numbered migrations with the same names', () => {
    const shape = (migrations: ReadonlyArray<{ version: number; name: string }>) => migrations.map((m) => `${m.version}_${m.name}`);
    expect(shape(PG_MIGRATIONS), 'add the PostgreSQL spelling of each SQLite migration under src/store/postgres/migrations/').toEqual(
      shape(SQLITE_MIGRATIONS),
    );
  });

  it('have the same tables, columns and named indexes once migrated', async () => {
    const [sqlite, postgres] = [sqliteShape(), await postgresShape()];
    expect(postgres.tables).toEqual(sqlite.tables);
    expect(postgres.indexes.sort()).toEqual(sqlite.indexes.sort());
  });
});
