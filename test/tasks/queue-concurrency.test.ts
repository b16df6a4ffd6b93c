/**
 * A job driven by a queue with `concurrency: 3` runs up to 3 of its tasks at once (BullMQ's and graphile-worker's
 * meaning), each run under a lock of its own task rather than the job's lock; the queue's claim bounds them. Real
 * daemon, real processes that hold their task until the test opens a gate file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { FIXTURE_DIR, api } from './helpers.ts';
import type { StatusJson } from '../../src/status/build-status.ts';

let t: TestDaemon | null = null;
let unsubscribe: (() => void) | null = null;
afterEach(async () => {
  unsubscribe?.();
  unsubscribe = null;
  if (t) writeFileSync(join(t.dir, 'gate'), ''); // let any run still holding a task finish
  await t?.cleanup();
  t = null;
});

const GATED = join(FIXTURE_DIR, 'gate-writer.sh');

describe('a queue-driven job under its queue concurrency', () => {
  it('runs exactly 3 of 6 tasks at once, each under its task lock, and all 6 once the gate opens', async () => {
    t = await startTestDaemon(`
shutdown_grace: 500ms
queues:
  articles: { concurrency: 3 }
jobs:
  writer:
    command: [sh, ${JSON.stringify(GATED)}]
    queue: articles
`);
    // The most runs of the job alive at once, counted from the dispatcher's own events.
    let live = 0;
    let most = 0;
    unsubscribe = t.daemon.eventHub.subscribe((event) => {
      if (event.type === 'run.started' && event.run.job === 'writer') most = Math.max(most, ++live);
      if (event.type === 'run.ended' && event.run.job === 'writer') live -= 1;
    });
    const store = t.daemon.store;
    const ids: string[] = [];
    for (let n = 1; n <= 6; n++) ids.push((await t.daemon.tasks.service.enqueue('articles', { payload: { n } })).id);

    const running = await waitFor(async () => {
      const runs = await store.listRuns({ job: 'writer', statuses: ['running'] });
      return runs.length === 3 ? runs : null;
    }, 15_000, 'three runs of writer running');
    // Settled: the queue has been looked at again and no fourth run started.
    t.daemon.tasks.service.poke('articles');
    await t.daemon.tasks.service.gate('articles').idle();
    expect(await store.listRuns({ job: 'writer', statuses: ['running'] })).toHaveLength(3);
    expect(await store.countTasks()).toEqual([{ queue: 'articles', queued: 3, running: 3, done: 0, dead: 0 }]);
    // Each run holds its own task's lock, naming the run (what crash recovery reclaims by); the job lock is free.
    const held = await store.listTasks({ queue: 'articles', states: ['running'] });
    expect(new Set(held.map((task) => task.run_id))).toEqual(new Set(running.map((r) => r.id)));
    const locks = (await store.listLocks()).filter((l) => l.name.startsWith('job:writer'));
    expect(locks.map((l) => [l.name, l.run_id]).sort()).toEqual(held.map((task) => [`job:writer#task:${task.id}`, task.run_id]).sort());
    // status shows the job running, with its three runs.
    const { body: status } = await api<StatusJson>(t.url, 'GET', '/status');
    expect(status.jobs.find((j) => j.name === 'writer')).toMatchObject({ state: 'running', running_runs: 3 });

    writeFileSync(join(t.dir, 'gate'), '');
    await waitFor(async () => (await store.countTasks())[0]?.done === 6, 20_000, 'all six tasks done');
    const runs = await t.runs('writer');
    expect(runs).toHaveLength(6);
    expect(runs.every((r) => r.trigger === 'task' && r.status === 'succeeded')).toBe(true);
    expect(most).toBe(3);
    expect(readFileSync(join(t.dir, 'done.txt'), 'utf8').trim().split('\n').sort()).toEqual([...ids].sort());
  });

  it('stays within limits.max_concurrent_runs, claiming nothing it has no slot for', async () => {
    t = await startTestDaemon(`
shutdown_grace: 500ms
limits: { max_concurrent_runs: 2 }
queues:
  articles: { concurrency: 3 }
jobs:
  writer:
    command: [sh, ${JSON.stringify(GATED)}]
    queue: articles
`);
    const store = t.daemon.store;
    for (let n = 1; n <= 4; n++) await t.daemon.tasks.service.enqueue('articles', { payload: { n } });
    await waitFor(async () => (await store.listRuns({ job: 'writer', statuses: ['running'] })).length === 2, 15_000, 'two runs running');
    t.daemon.tasks.service.poke('articles');
    await t.daemon.tasks.service.gate('articles').idle();
    expect(await store.countTasks()).toEqual([{ queue: 'articles', queued: 2, running: 2, done: 0, dead: 0 }]);

    writeFileSync(join(t.dir, 'gate'), '');
    await waitFor(async () => (await store.countTasks())[0]?.done === 4, 20_000, 'all four tasks done');
    // No start was refused for want of a slot: four runs, all succeeded, none skipped.
    expect((await t.runs('writer')).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });
});
