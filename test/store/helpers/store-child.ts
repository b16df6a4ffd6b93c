/**
 * A second process for the multi-process tests: opens the same SQLite file with the real store code, reports on
 * stdout (one JSON message a line), and waits for `go` on stdin before acting, so the parent can line several up.
 *
 * Run as `node --import ./register-ts.mjs store-child.ts '<ChildTask JSON>'`.
 */
import { createInterface } from 'node:readline';
import { isStoreError } from '../../../src/store/errors.ts';
import { openSqliteDatabase } from '../../../src/store/sqlite/connection.ts';
import { applyMigrations } from '../../../src/store/sqlite/migrate.ts';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.ts';
import type { ChildMessage, ChildTask } from './child-protocol.ts';

const task = JSON.parse(process.argv[2] ?? '{}') as ChildTask;
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function send(message: ChildMessage): void {
  // Writes to a pipe are synchronous on Linux, so a message is out before the next (possibly blocking) SQLite call.
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function go(): Promise<void> {
  const line = await stdin.next();
  if (line.done === true || line.value !== 'go') throw new Error(`expected "go" on stdin, got ${String(line.value)}`);
}

async function main(): Promise<void> {
  if (task.kind === 'migrate') {
    const db = openSqliteDatabase(task.path);
    send({ event: 'ready' });
    await go();
    const applied = applyMigrations(db, task.path, undefined, {
      onPending: (versions) => send({ event: 'pending', versions: [...versions] }),
    });
    db.close();
    send({ event: 'migrated', applied });
    return;
  }

  const store = await openSqliteStore(task.path);
  await store.migrate();
  send({ event: 'ready' });
  await go();
  send({ event: 'attempting' });
  const run = { ...task.run, chain_id: task.run.id };
  const result = await store.startRun(run, { name: task.lock, holder: { ...task.holder, pid: process.pid } }, task.now);
  await store.close();
  send(result.started ? { event: 'started', runId: result.run.id } : { event: 'held', heldByToken: result.heldBy.token });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    send({ event: 'error', code: isStoreError(err) ? err.code : null, message: String(err) });
    process.exit(1);
  },
);
