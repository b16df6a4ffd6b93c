/**
 * The SQLite store: the conformance suite on a real file, then what only SQLite has (pragmas, the file on disk,
 * several connections to one file, read-only opening).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { describeStoreConformance } from './conformance.ts';
import { at, ended, expectStoreError, lockRequest, newRun } from './conformance/fixtures.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const tmp = useTempDir();

describeStoreConformance('sqlite', async () => {
  const store = await openSqliteStore(join(tmp.path, 'state.db'));
  return { store, cleanup: () => store.close() };
});

describe('SQLite store', () => {
  async function open(path = join(tmp.path, 'state.db'), options: { readonly?: boolean } = {}): Promise<Store> {
    const store = await openSqliteStore(path, options);
    tmp.onCleanup(() => store.close());
    return store;
  }

  /** Reads a pragma through a connection of our own; journal_mode is a property of the file. */
  function filePragma(path: string, pragma: string): unknown {
    const db = new Database(path, { readonly: true });
    try {
      return db.pragma(pragma, { simple: true });
    } finally {
      db.close();
    }
  }

  it('puts the file in WAL mode', async () => {
    const path = join(tmp.path, 'state.db');
    await (await open(path)).migrate();
    expect(filePragma(path, 'journal_mode')).toBe('wal');
  });

  it('creates a missing state directory with mode 0700', async () => {
    const path = join(tmp.path, 'project', '.nightshift', 'state.db');
    await (await open(path)).migrate();
    expect(statSync(join(tmp.path, 'project', '.nightshift')).mode & 0o777).toBe(0o700);
  });

  it('lets exactly one of two connections to the same file take a lock', async () => {
    const path = join(tmp.path, 'state.db');
    const [a, b] = [await open(path), await open(path)];
    await Promise.all([a.migrate(), b.migrate()]);

    const results = await Promise.all([
      a.startRun(newRun('scan'), lockRequest('scan', 'a'), at(0)),
      b.startRun(newRun('scan'), lockRequest('scan', 'b'), at(0)),
    ]);
    const started = results.flatMap((r) => (r.started ? [r.run] : []));
    const held = results.flatMap((r) => (r.started ? [] : [r.heldBy]));
    expect(started).toHaveLength(1);
    expect(held.map((h) => h.run_id)).toEqual([started[0]?.id]);

    // What one connection committed, the other sees at once.
    const running = await b.listRuns({ statuses: ['running'] });
    expect(running).toHaveLength(1);
    await a.finishRun(running[0]?.id ?? '', ended('succeeded', at(1), { exit_code: 0 }));
    expect(await b.getLock('scan')).toBeNull();
  });

  it('rejects calls after close, and close twice is harmless', async () => {
    const store = await open();
    await store.migrate();
    await store.close();
    await store.close();
    await expectStoreError(store.getRun('x'), 'closed');
  });

  describe('read-only', () => {
    it('reads what a writer wrote and refuses to write', async () => {
      const path = join(tmp.path, 'state.db');
      const writer = await open(path);
      await writer.migrate();
      const run = newRun('scan');
      await writer.insertRun(run, { status: 'queued' });

      const reader = await open(path, { readonly: true });
      await reader.migrate();
      expect((await reader.getRun(run.id))?.status).toBe('queued');
      await expectStoreError(reader.setPaused('scan', true), 'readonly');
    });

    it('does not create a missing file', async () => {
      const path = join(tmp.path, 'missing', 'state.db');
      await expectStoreError(openSqliteStore(path, { readonly: true }), 'cannot_open');
      expect(() => statSync(join(tmp.path, 'missing'))).toThrow();
    });

    it("does not migrate: an unmigrated file is 'schema_outdated'", async () => {
      const path = join(tmp.path, 'state.db');
      await open(path); // created, never migrated
      const reader = await open(path, { readonly: true });
      await expectStoreError(reader.migrate(), 'schema_outdated');
    });
  });
});
