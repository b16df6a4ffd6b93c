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

  it("says PostgreSQL is not supported yet, with code 'unsupported'", async () => {
    const error = await openStore({ kind: 'postgres', url: 'postgres://localhost/nightshift' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isStoreError(error, 'unsupported')).toBe(true);
    expect((error as Error).message).toMatch(/PostgreSQL support is coming.*use `store: sqlite`/);
  });
});
