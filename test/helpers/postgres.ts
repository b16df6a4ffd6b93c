/**
 * PostgreSQL for a test file: the database test/setup/postgres-global.ts provides for the run, and a fresh schema per
 * test (pg-boss's approach), so every store starts empty and parallel vitest forks never see each other's tables.
 * A schema is named at random and reached through the URL's search_path (`?options=-c search_path=…`), exactly as a
 * user would point nightshift at a schema of a shared database.
 *
 * Usage: `const pg = usePostgres();` at the top of a file, then `await pg.createSchema()` in a test or an `open`
 * callback; drop it in that test's cleanup (`schema.drop()`), or let `dropAll` in afterAll catch what is left.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

/** What the global setup hands to test files. */
export interface ProvidedPostgres {
  /** A URL of a database the tests may create schemas in; null when none could be had. */
  url: string | null;
  /** Why there is no database (no binaries, no postgres user …), with the fix. */
  error: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: ProvidedPostgres;
  }
}

export interface TestSchema {
  name: string;
  /** The run's database URL with search_path set to this schema. */
  url: string;
  drop(): Promise<void>;
}

export interface PostgresFixture {
  /** The run's database URL (search_path left at its default). */
  readonly url: string;
  createSchema(): Promise<TestSchema>;
  /** Runs SQL as the admin connection (for assertions on what the store wrote, pg_locks …). */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]>;
}

/** The database URL for this run; throws, with the reason and the fix, when the global setup could not get one. */
export function testDatabaseUrl(): string {
  const provided = inject('postgres');
  if (provided.url === null) throw new Error(`no PostgreSQL for the tests: ${provided.error ?? 'unknown reason'}`);
  return provided.url;
}

/** `url` with its search_path set to `schema` (libpq's `options` parameter, which pg reads from the URL). */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

export function usePostgres(): PostgresFixture {
  let admin: pg.Pool | undefined;
  const live = new Set<string>();
  let url: string | undefined;

  beforeAll(() => {
    url = testDatabaseUrl();
    admin = new pg.Pool({ connectionString: url, max: 2 });
    // An admin connection dropped by the server between tests is replaced by the pool; do not crash the fork.
    admin.on('error', () => {});
  });
  afterAll(async () => {
    try {
      for (const name of live) await admin?.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    } finally {
      live.clear();
      await admin?.end();
    }
  });

  const outside = 'usePostgres(): the database is only available inside tests and hooks';
  function pool(): pg.Pool {
    if (admin === undefined) throw new Error(outside);
    return admin;
  }
  function baseUrl(): string {
    if (url === undefined) throw new Error(outside);
    return url;
  }

  return {
    get url(): string {
      return baseUrl();
    },
    async createSchema(): Promise<TestSchema> {
      const name = `nightshift_test_${randomBytes(6).toString('hex')}`;
      await pool().query(`CREATE SCHEMA ${name}`);
      live.add(name);
      return {
        name,
        url: withSearchPath(baseUrl(), name),
        drop: async () => {
          live.delete(name);
          await pool().query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
        },
      };
    },
    async query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]> {
      return (await pool().query<Row>(text, values)).rows;
    },
  };
}
