/**
 * Several processes on one SQLite file — the daemon, `nightshift exec` wrappers from cron and the CLI all open it.
 * The other processes run test/store/helpers/store-child.ts, the real store code (see helpers/ts-hooks.mjs for how).
 *
 * To make the races real, this process holds the database's write lock while the children line up behind it, and
 * lets go only once each child has said it is about to write.
 */
import { join } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../src/store/sqlite/connection.ts';
import { applyMigrations } from '../../src/store/sqlite/migrate.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { newRunId } from '../../src/util/ids.ts';
import { at, holder } from './conformance/fixtures.ts';
import type { ChildTask } from './helpers/child-protocol.ts';
import { spawnStoreChild, type StoreChild } from './helpers/store-child-process.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const tmp = useTempDir();

function spawnChildren(tasks: ChildTask[]): StoreChild[] {
  const children = tasks.map(spawnStoreChild);
  tmp.onCleanup(async () => {
    await Promise.all(children.map((c) => c.stop()));
  });
  return children;
}

/** A connection of this test's own that holds the write lock until `release()`. */
function holdWriteLock(path: string): { db: Db; release(): void } {
  const db = openSqliteDatabase(path);
  tmp.onCleanup(() => {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  });
  return { db, release: () => db.exec('ROLLBACK') };
}

describe('SQLite store across processes', () => {
  it('applies migrations once when two processes migrate at the same time', async () => {
    const path = join(tmp.path, 'state.db');
    const gate = holdWriteLock(path);
    applyMigrations(gate.db, path, []); // just the bookkeeping table, so the children's first step is a read
    gate.db.exec('BEGIN IMMEDIATE');

    const children = spawnChildren([
      { kind: 'migrate', path },
      { kind: 'migrate', path },
    ]);
    await Promise.all(children.map((c) => c.next('ready')));
    children.forEach((c) => c.go());
    // Both have read the same pending list before either could write.
    const pending = await Promise.all(children.map((c) => c.next('pending')));
    expect(pending.map((p) => p.versions)).toEqual([MIGRATIONS.map((m) => m.version), MIGRATIONS.map((m) => m.version)]);
    gate.release();

    // Each migration is its own transaction, so the two may take turns (on a loaded box they do): what matters is
    // that every migration is applied by exactly one of them.
    const applied = await Promise.all(children.map((c) => c.next('migrated')));
    expect(applied.flatMap((m) => m.applied).sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
    const rows = gate.db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('lets exactly one of two processes start a run under the same lock', async () => {
    const path = join(tmp.path, 'state.db');
    const setup = await openSqliteStore(path);
    tmp.onCleanup(() => setup.close());
    await setup.migrate();
    const gate = holdWriteLock(path);
    gate.db.exec('BEGIN IMMEDIATE');

    const task = (token: string): ChildTask => ({
      kind: 'start-run',
      path,
      lock: 'ingest',
      holder: holder(token),
      run: { id: newRunId(), job: 'ingest', attempt: 1, trigger: 'exec', scheduled_at: at(0), node: 'node-a' },
      now: at(0),
    });
    const tasks = [task('first'), task('second')];
    const children = spawnChildren(tasks);
    await Promise.all(children.map((c) => c.next('ready')));
    children.forEach((c) => c.go());
    await Promise.all(children.map((c) => c.next('attempting')));
    gate.release();

    const outcomes = await Promise.all(children.map((c) => c.next('started', 'held', 'error')));
    expect(outcomes.map((o) => o.event).sort()).toEqual(['held', 'started']);

    const winner = outcomes.findIndex((o) => o.event === 'started');
    const winnerTask = tasks[winner];
    const loserOutcome = outcomes[1 - winner];
    if (winnerTask?.kind !== 'start-run') throw new Error('unreachable');
    expect(loserOutcome).toEqual({ event: 'held', heldByToken: winnerTask.holder.token });
    expect(await setup.getLock('ingest')).toMatchObject({ token: winnerTask.holder.token, run_id: winnerTask.run.id });
    expect((await setup.listRuns({ job: 'ingest' })).map((r) => r.id)).toEqual([winnerTask.run.id]);
  });
});
