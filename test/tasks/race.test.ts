/**
 * Concurrency with real processes: claims racing on one SQLite file never hand a task to two claimers; two SDK
 * worker processes on one daemon handle every task exactly once; a worker killed mid-task loses it to another worker
 * only after its lease lapses.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { newRunId } from '../../src/util/ids.ts';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { useTempDir } from '../store/helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { killFixtures, spawnFixture, type Line } from './helpers.ts';

const tmp = useTempDir('nightshift-tasks-');
let daemon: TestDaemon | null = null;
afterEach(async () => {
  await killFixtures();
  await daemon?.cleanup();
  daemon = null;
});

const ids = (lines: Line[], event: string) => lines.filter((l) => l.event === event).map((l) => String(l.id));

describe('task claims under concurrency', () => {
  it('two processes claiming from one SQLite file never both get a task', async () => {
    const path = join(tmp.path, 'state.db');
    const store = await openSqliteStore(path);
    await store.migrate();
    const enqueued: string[] = [];
    // Enough that one process cannot drain the queue in the moment the other takes to start on a loaded box.
    for (let i = 0; i < 1500; i++) {
      const id = newRunId();
      enqueued.push(id);
      await store.enqueueTask({ id, queue: 'q', payload_json: String(i), priority: 0, run_at: new Date(0).toISOString(), key: null, created_at: new Date().toISOString() });
    }
    await store.close();

    const children = [spawnFixture('claim-child.ts', [path, 'q']), spawnFixture('claim-child.ts', [path, 'q'])];
    await Promise.all(children.map((c) => c.until('ready', (l) => l.some((x) => x.event === 'ready'))));
    for (const child of children) child.send('go');
    const got = await Promise.all(
      children.map(async (c) => ((await c.until('claimed', (l) => l.some((x) => x.event === 'claimed'))).find((x) => x.event === 'claimed')!.ids as string[])),
    );
    const [a, b] = got as [string[], string[]];
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([...enqueued].sort());
    // Both really raced (neither drained the queue alone before the other started).
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
  });

  it('two SDK worker processes on one daemon handle every task exactly once', async () => {
    daemon = await startTestDaemon(`
shutdown_grace: 500ms
queues:
  q: { concurrency: 8, lease: 30s }
jobs:
  noop: { command: "true" }
`);
    const env = { NIGHTSHIFT_URL: daemon.url, NIGHTSHIFT_TOKEN: daemon.daemon.apiToken() };
    const service = daemon.daemon.tasks.service;
    for (let i = 0; i < 120; i++) await service.enqueue('q', { payload: { i } });
    const workers = [spawnFixture('sdk-worker.ts', ['q', '4', '5'], env), spawnFixture('sdk-worker.ts', ['q', '4', '5'], env)];

    const store = daemon.daemon.store;
    await waitFor(async () => (await store.countTasks()).find((c) => c.queue === 'q')?.done === 120, 30_000, '120 tasks done');
    const handled = workers.flatMap((w) => ids(w.lines, 'done'));
    expect(handled).toHaveLength(120);
    expect(new Set(handled).size).toBe(120);
    const done = await store.listTasks({ queue: 'q', states: ['done'], limit: 1000 });
    expect(done.every((t) => t.attempt === 1)).toBe(true);
    for (const worker of workers) worker.send('stop');
    await Promise.all(workers.map((w) => w.until('stopped', (l) => l.some((x) => x.event === 'stopped'))));
  });

  it('a worker killed mid-task loses the task to another worker only when its lease lapses', async () => {
    daemon = await startTestDaemon(`
shutdown_grace: 500ms
queues:
  q: { concurrency: 4, lease: 1500ms, retries: 3 }
jobs:
  noop: { command: "true" }
`);
    const env = { NIGHTSHIFT_URL: daemon.url, NIGHTSHIFT_TOKEN: daemon.daemon.apiToken() };
    const { id } = await daemon.daemon.tasks.service.enqueue('q', { payload: { n: 1 } });

    const doomed = spawnFixture('sdk-worker.ts', ['q', '1', 'hang'], env);
    const started = (await doomed.until('the task started', (l) => ids(l, 'start').includes(id))).find((l) => l.event === 'start')!;
    // The worker's extender would keep the lease alive for ever; killing the process stops it (kill -9: no goodbye).
    await doomed.kill();
    const held = await daemon.daemon.store.getTask(id);
    expect(held).toMatchObject({ state: 'running', attempt: 1 });

    const rescuer = spawnFixture('sdk-worker.ts', ['q', '1', '0'], env);
    const lines = await rescuer.until('the task done by the second worker', (l) => ids(l, 'done').includes(id), 15_000);
    const restart = lines.find((l) => l.event === 'start' && l.id === id)!;
    expect(restart.attempt).toBe(2);
    // Not before the lease the dead worker last extended had run out.
    expect(Number(restart.at)).toBeGreaterThan(Date.parse(held!.lease_expires_at!));
    expect(Number(restart.at)).toBeGreaterThan(Number(started.at));
    // The worker says `done` as its handler returns, just before it reports the completion.
    const store = daemon.daemon.store;
    const task = await waitFor(async () => ((await store.getTask(id))?.state === 'done' ? store.getTask(id) : null), 5_000, 'the completion');
    expect(task).toMatchObject({ state: 'done', attempt: 2, result: { by: rescuer.pid } });
    expect(task?.last_error).toMatch(/lease expired/);
  });
});
