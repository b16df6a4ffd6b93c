/**
 * A temporary directory per test, removed in afterEach whether the test passed or not. Files are real: the store's
 * behaviour under WAL, locking and damaged files is what the SQLite tests are about.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export interface TempDir {
  /** The current test's directory. */
  readonly path: string;
  /** Runs after the test and before the directory is removed (close stores, kill children …). */
  onCleanup(fn: () => void | Promise<void>): void;
}

export function useTempDir(prefix = 'nightshift-store-'): TempDir {
  let current: string | undefined;
  let cleanups: (() => void | Promise<void>)[] = [];
  beforeEach(() => {
    current = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    const dir = current;
    const pending = cleanups.reverse();
    current = undefined;
    cleanups = [];
    try {
      for (const fn of pending) await fn();
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
  return {
    get path(): string {
      if (current === undefined) throw new Error('the temp dir is only available inside a test');
      return current;
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
  };
}
