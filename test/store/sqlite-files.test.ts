/**
 * What the SQLite store does with a file it cannot use: it refuses with a StoreError that names the file, what is
 * wrong and the fix — and leaves the file exactly as it was.
 */
import { randomBytes, createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStoreError, type StoreError } from '../../src/store/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const tmp = useTempDir();

/** Opens and migrates `path` (closing what opened), returning the StoreError it must fail with. */
async function refusal(path: string): Promise<StoreError> {
  try {
    const store = await openSqliteStore(path);
    try {
      await store.migrate();
      await store.listRuns({});
    } finally {
      await store.close();
    }
  } catch (err) {
    if (isStoreError(err)) return err;
    throw err;
  }
  throw new Error(`${path} opened and migrated without an error`);
}

/** Content hash, size and mtime of `path`, plus the directory listing: all must be unchanged after a refusal. */
function fingerprint(path: string): string {
  const stat = statSync(path);
  const hash = stat.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'dir';
  return JSON.stringify([hash, stat.size, stat.mtimeMs, readdirSync(tmp.path).sort()]);
}

describe('SQLite store: unusable files', () => {
  it('refuses a file of random bytes and leaves it untouched', async () => {
    const path = join(tmp.path, 'state.db');
    writeFileSync(path, randomBytes(8192));
    const before = fingerprint(path);

    const error = await refusal(path);

    expect(error.code).toBe('not_a_database');
    expect(error.message).toContain(path);
    expect(error.message).toContain('is not a nightshift state database (file is not a database)');
    expect(error.message).toContain(`mv ${path} ${path}.corrupt`);
    expect(error.message).not.toContain('\n');
    expect(fingerprint(path)).toBe(before);
  });

  it('refuses a database whose pages are damaged and leaves it untouched', async () => {
    const path = join(tmp.path, 'state.db');
    const store = await openSqliteStore(path);
    await store.migrate();
    await store.close();
    // Page 1 (the header and the schema) stays intact, so the file still opens as SQLite; every later page — the
    // tables' b-trees — becomes 0xFF, which is not a valid page type, so the first read of a table fails.
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    bytes.fill(0xff, pageSize);
    writeFileSync(path, bytes);
    const before = fingerprint(path);

    const error = await refusal(path);

    expect(error.code).toBe('corrupt');
    expect(error.message).toContain(`${path} is damaged (database disk image is malformed)`);
    expect(error.message).toContain(`sqlite3 ${path} .recover`);
    expect(fingerprint(path)).toBe(before);
  });

  it('refuses an SQLite database that belongs to another program', async () => {
    const path = join(tmp.path, 'state.db');
    const other = new Database(path);
    other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
    other.close();
    const before = fingerprint(path);

    const error = await refusal(path);

    expect(error.code).toBe('foreign_database');
    expect(error.message).toContain(`${path} is an SQLite database but not a nightshift state database`);
    expect(error.message).toContain('invoices');
    expect(fingerprint(path)).toBe(before);
  });

  it('refuses a path that is a directory', async () => {
    const path = join(tmp.path, 'state.db');
    mkdirSync(path);
    const before = fingerprint(path);

    const error = await refusal(path);

    expect(error.code).toBe('cannot_open');
    expect(error.message).toContain(`cannot open ${path}`);
    expect(error.message).toMatch(/may read and write it/);
    expect(fingerprint(path)).toBe(before);
  });

  // root ignores file modes, so a chmod 000 file is readable to it; the directory case above covers unreadability
  // when the suite runs as root (as it does in containers).
  it.skipIf(process.getuid?.() === 0)('refuses a file it may not read and leaves it untouched', async () => {
    const path = join(tmp.path, 'state.db');
    const store = await openSqliteStore(path);
    await store.migrate();
    await store.close();
    chmodSync(path, 0o000);
    tmp.onCleanup(() => chmodSync(path, 0o600));

    const error = await refusal(path);

    expect(error.code).toBe('cannot_open');
    expect(error.message).toContain(path);
    expect(statSync(path).mode & 0o777).toBe(0);
  });
});
