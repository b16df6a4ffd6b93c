/** openStore: the config's store kind picks the dialect. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStoreError } from '../../src/store/errors.ts';
import { openStore } from '../../src/store/open.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const tmp = useTempDir();

describe('openStore', () => {
  it('opens an SQLite store at the configured path', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(tmp.path, 'state.db') });
    tmp.onCleanup(() => store.close());
    await store.migrate();
    expect(await store.listRuns({})).toEqual([]);
  });

  it('opens a PostgreSQL store for a postgres:// URL, connecting only when used', async () => {
    // Nothing listens on port 1: opening succeeds, the first use says the database cannot be reached. (The store on a
    // real database is test/store/postgres.test.ts.)
    const store = await openStore({ kind: 'postgres', url: 'postgres://nightshift:pw@127.0.0.1:1/nightshift' });
    tmp.onCleanup(() => store.close());
    const error = await store.migrate().then(
      () => null,
      (err: unknown) => err,
    );
    expect(isStoreError(error, 'cannot_open')).toBe(true);
    expect((error as Error).message).toMatch(/cannot reach postgres:\/\/nightshift:\*\*\*@127\.0\.0\.1:1\/nightshift/);
  });
});
