/**
 * The PostgreSQL store: the conformance suite in a fresh schema per test, then what only PostgreSQL has (several
 * nodes' pools on one database, the migration advisory lock, read-only sessions, errors that never show a password).
 * The database comes from test/setup/postgres-global.ts (NIGHTSHIFT_TEST_DATABASE_URL, else a throwaway cluster).
 */
import pgLib from 'pg';
import { describe, expect, it } from 'vitest';
import { isStoreError } from '../../src/store/errors.ts';
import { openStore } from '../../src/store/open.ts';
import { POSTGRES_POOL } from '../../src/config/defaults.ts';
import { parseDuration } from '../../src/config/units.ts';
import { createPool, maskUrl } from '../../src/store/postgres/connection.ts';
import { MIGRATION_LOCK_KEY } from '../../src/store/postgres/migrate.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations/index.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/types.ts';
import { usePostgres, type TestSchema } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { describeStoreConformance } from './conformance.ts';
import { at, ended, expectStoreError, lockRequest, newRun } from './conformance/fixtures.ts';

const { Client: PgClient } = pgLib;
const pg = usePostgres();

describeStoreConformance('postgres', async () => {
  const schema = await pg.createSchema();
  const store = await openPostgresStore(schema.url);
  return {
    store,
    cleanup: async () => {
      try {
        await store.close();
      } finally {
        await schema.drop();
      }
    },
  };
});

describe('PostgreSQL store', () => {
  /** A schema and the stores opened on it, all closed and dropped after the test however it ends. */
  async function withSchema<T>(body: (schema: TestSchema, open: (options?: { readonly?: boolean }) => Promise<Store>) => Promise<T>): Promise<T> {
    const schema = await pg.createSchema();
    const stores: Store[] = [];
    const open = async (options: { readonly?: boolean } = {}): Promise<Store> => {
      const store = await openPostgresStore(schema.url, options);
      stores.push(store);
      return store;
    };
    try {
      return await body(schema, open);
    } finally {
      for (const store of stores) await store.close();
      await schema.drop();
    }
  }

  it('migrates once when two nodes start at once, and records every version', async () => {
    await withSchema(async (schema, open) => {
      const nodes = [await open(), await open(), await open()];
      await Promise.all(nodes.map((store) => store.migrate()));
      const rows = await pg.query<{ version: number; name: string }>(
        `SELECT version, name FROM ${schema.name}.schema_migrations ORDER BY version`,
      );
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      await nodes[1]!.migrate(); // idempotent
    });
  });

  it('waits for the migration advisory lock another node holds', async () => {
    await withSchema(async (schema, open) => {
      // Hold the lock on a dedicated connection, as a node in the middle of migrating would.
      const blocker = new PgClient({ connectionString: pg.url });
      await blocker.connect();
      try {
        await blocker.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        const store = await open();
        let done = false;
        const migrating = store.migrate().then(() => {
          done = true;
        });
        await waitFor(
          async () =>
            (
              await pg.query(
                // A one-number advisory key shows as classid (high 32 bits), objid (low 32 bits), objsubid 1.
                `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objid = $2 AND objsubid = 1`,
                [Math.floor(MIGRATION_LOCK_KEY / 2 ** 32), MIGRATION_LOCK_KEY % 2 ** 32],
              )
            ).length > 0,
          10_000,
          'the migrator to wait on the advisory lock',
        );
        expect(done).toBe(false);
        expect(await pg.query(`SELECT to_regclass('${schema.name}.runs') AS t`)).toEqual([{ t: null }]);
        await blocker.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        await migrating;
        expect(await store.listRuns({})).toEqual([]);
      } finally {
        await blocker.end();
      }
    });
  });

  it("refuses a schema migrated by a newer nightshift ('schema_too_new'), writable or read-only", async () => {
    await withSchema(async (schema, open) => {
      await (await open()).migrate();
      await pg.query(`INSERT INTO ${schema.name}.schema_migrations VALUES ($1, 'future', 0)`, [MIGRATIONS.length + 1]);
      await expectStoreError((await open()).migrate(), 'schema_too_new');
      await expectStoreError((await open({ readonly: true })).migrate(), 'schema_too_new');
    });
  });

  it("refuses a schema holding another program's tables ('foreign_database') and leaves it untouched", async () => {
    await withSchema(async (schema, open) => {
      await pg.query(`CREATE TABLE ${schema.name}.customers (id int)`);
      await expectStoreError((await open()).migrate(), 'foreign_database');
      expect(await pg.query(`SELECT to_regclass('${schema.name}.schema_migrations') AS t`)).toEqual([{ t: null }]);
    });
  });

  it("says so when the URL's search_path names no existing schema ('cannot_open')", async () => {
    const url = new URL(pg.url);
    url.searchParams.set('options', '-c search_path=nightshift_missing_schema');
    const store = await openPostgresStore(url.toString());
    try {
      const error = await store.migrate().then(
        () => null,
        (err: unknown) => err,
      );
      expect(isStoreError(error, 'cannot_open')).toBe(true);
      expect((error as Error).message).toMatch(/names no existing schema.*CREATE SCHEMA/);
    } finally {
      await store.close();
    }
  });

  describe('read-only', () => {
    it('reads what a writer wrote and refuses to write', async () => {
      await withSchema(async (_schema, open) => {
        const writer = await open();
        await writer.migrate();
        const run = newRun('scan');
        await writer.insertRun(run, { status: 'queued' });

        const reader = await open({ readonly: true });
        await reader.migrate();
        expect((await reader.getRun(run.id))?.status).toBe('queued');
        await expectStoreError(reader.setPaused('scan', true), 'readonly');
        await expectStoreError(reader.startRun(newRun('scan'), lockRequest('scan', 't'), at(0)), 'readonly');
      });
    });

    it("does not migrate: an empty schema is 'schema_outdated'", async () => {
      await withSchema(async (schema, open) => {
        await expectStoreError((await open({ readonly: true })).migrate(), 'schema_outdated');
        expect(await pg.query(`SELECT to_regclass('${schema.name}.schema_migrations') AS t`)).toEqual([{ t: null }]);
      });
    });
  });

  it('rejects calls after close, and close twice is harmless', async () => {
    await withSchema(async (_schema, open) => {
      const store = await open();
      await store.migrate();
      await store.close();
      await store.close();
      await expectStoreError(store.getRun('x'), 'closed');
    });
  });

  it('keeps text with NUL characters, which PostgreSQL text cannot hold, as U+FFFD', async () => {
    await withSchema(async (_schema, open) => {
      const store = await open();
      await store.migrate();
      const run = await store.insertRun(newRun('scan'), ended('failed', at(1), { error: 'bad\u0000byte' }));
      expect((await store.getRun(run.id))?.error).toBe('bad\uFFFDbyte');
    });
  });

  it('opens sessions with the pool limits from defaults.ts, read-only ones keeping the search_path', async () => {
    const schema = await pg.createSchema();
    const pools = [createPool(schema.url), createPool(schema.url, { readonly: true })];
    try {
      const show = async (pool: (typeof pools)[number]) =>
        (
          // pg_settings gives both timeouts in milliseconds.
          await pool.query<Record<string, string | number>>(
            `SELECT (SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout') AS statement,
                    (SELECT setting::int FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout') AS idle,
                    current_setting('application_name') AS app, current_setting('default_transaction_read_only') AS ro,
                    current_schema() AS schema`,
          )
        ).rows[0];
      const expected = {
        statement: parseDuration(POSTGRES_POOL.statement_timeout),
        idle: parseDuration(POSTGRES_POOL.idle_in_transaction_timeout),
        app: 'nightshift',
        schema: schema.name,
      };
      expect(await show(pools[0]!)).toEqual({ ...expected, ro: 'off' });
      expect(await show(pools[1]!)).toEqual({ ...expected, ro: 'on' });
      expect(pools[0]!.options.max).toBe(POSTGRES_POOL.max_connections);
    } finally {
      for (const pool of pools) await pool.end();
      await schema.drop();
    }
  });

  it('never shows a password: maskUrl on the forms a URL takes', () => {
    expect(maskUrl('postgres://ns:s3cret@db:5432/ns')).toBe('postgres://ns:***@db:5432/ns');
    expect(maskUrl('postgresql://ns:p%40ss@db/ns?sslmode=require')).toBe('postgresql://ns:***@db/ns?sslmode=require');
    expect(maskUrl('postgres://ns@db/ns?password=s3cret')).toBe('postgres://ns@db/ns?password=***');
    expect(maskUrl('postgres://db/ns')).toBe('postgres://db/ns');
    // Unparseable: masked by hand.
    expect(maskUrl('postgres://ns:s3cret@[::1/ns')).toBe('postgres://ns:***@[::1/ns');
  });

  it("refuses a URL pg could not parse ('invalid_argument') without repeating its password", async () => {
    const error = await openPostgresStore('postgres://ns:s3cret@db:99999/ns').then(
      () => null,
      (err: unknown) => err,
    );
    expect(isStoreError(error, 'invalid_argument')).toBe(true);
    expect((error as Error).message).toMatch(/^postgres:\/\/ns:\*\*\*@db:99999\/ns is not a valid PostgreSQL URL/);
    expect((error as Error).cause).toBeUndefined();
  });

  describe('connection failures', () => {
    it("reports an unreachable server as 'cannot_open', naming the URL with its password masked", async () => {
      const url = 'postgres://nightshift:s3cret-pw@127.0.0.1:1/nightshift';
      const store = await openPostgresStore(url);
      try {
        const error = await store.migrate().then(
          () => null,
          (err: unknown) => err,
        );
        expect(isStoreError(error, 'cannot_open')).toBe(true);
        const message = (error as Error).message;
        expect(message).toContain('postgres://nightshift:***@127.0.0.1:1/nightshift');
        expect(message).not.toContain('s3cret-pw');
        expect(message).toMatch(/check that PostgreSQL is running/);
      } finally {
        await store.close();
      }
    });

    it("reports a missing database as 'cannot_open' with the fix", async () => {
      const url = new URL(pg.url);
      url.pathname = '/nightshift_no_such_database';
      url.password = 'hunter2';
      const store = await openPostgresStore(url.toString());
      try {
        const error = await store.migrate().then(
          () => null,
          (err: unknown) => err,
        );
        expect(isStoreError(error, 'cannot_open')).toBe(true);
        expect((error as Error).message).toMatch(/create the database first/);
        expect((error as Error).message).not.toContain('hunter2');
      } finally {
        await store.close();
      }
    });
  });

  it('is what openStore opens for a postgres:// store', async () => {
    const schema = await pg.createSchema();
    const store = await openStore({ kind: 'postgres', url: schema.url });
    try {
      await store.migrate();
      expect(await store.listRuns({})).toEqual([]);
      expect(await pg.query(`SELECT to_regclass('${schema.name}.runs')::text AS t`)).toEqual([{ t: `${schema.name}.runs` }]);
    } finally {
      await store.close();
      await schema.drop();
    }
  });
});
