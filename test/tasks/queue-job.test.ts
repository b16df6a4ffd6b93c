/**
 * A job driven by its queue (`queue: NAME`): one run per task with trigger `task`, the task handed over in the run's
 * environment, the run's end settling the task — done, retried by the queue (never by the job), dead-lettered, or,
 * after `exit 75` with a Retry-After, the whole queue paused without spending a retry. Real daemon, real processes.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { NS } from '../supervisor/helpers.ts';
import { closeReceivers, deliveredOf, hookChannel } from '../watch/helpers.ts';
import type { Incident } from '../../src/store/types.ts';
import { FIXTURE_DIR } from './helpers.ts';

let t: TestDaemon | null = null;
afterEach(async () => {
  await t?.cleanup();
  t = null;
  await closeReceivers();
});

const WRITER = join(FIXTURE_DIR, 'task-writer.sh');

function config(queue: string): string {
  return `
shutdown_grace: 500ms
queues:
  articles: ${queue}
jobs:
  writer:
    command: [sh, ${JSON.stringify(WRITER)}]
    queue: articles
    retries: 5
`;
}

function got(dir: string): string[][] {
  const path = join(dir, 'got.txt');
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split('|')) : [];
}

describe('a job driven by its queue', () => {
  it('starts one run per task with the task in its environment, and completes the task when the run succeeds', async () => {
    t = await startTestDaemon(config('{ concurrency: 1 }'));
    const service = t.daemon.tasks.service;
    const ids = [];
    for (const n of [1, 2, 3]) ids.push((await service.enqueue('articles', { payload: { n } })).id);
    await waitFor(async () => (await t!.daemon.store.countTasks())[0]?.done === 3, 20_000, 'three tasks done');

    const lines = got(t.dir);
    expect(lines.map((l) => l[0]).sort()).toEqual([...ids].sort());
    for (const [id, queue, attempt, payload, url] of lines) {
      expect([queue, attempt, url]).toEqual(['articles', '1', `${t.url}/api/v1/tasks/${id}`]);
      expect(JSON.parse(payload!)).toHaveProperty('n');
    }
    const runs = await t.runs('writer');
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.trigger === 'task' && r.status === 'succeeded')).toBe(true);
    const tasks = await t.daemon.store.listTasks({ queue: 'articles' });
    expect(new Set(tasks.map((task) => task.run_id))).toEqual(new Set(runs.map((r) => r.id)));
  });

  it("retries a failed task through the queue (not the job's retries) and dead-letters it when they are spent", async () => {
    t = await startTestDaemon(config('{ concurrency: 1, retries: 1 }'));
    const { id } = await t.daemon.tasks.service.enqueue('articles', { payload: 'fail' });
    const dead = await waitFor(async () => {
      const task = await t!.daemon.store.getTask(id);
      return task?.state === 'dead' ? task : null;
    }, 20_000, 'the task to be dead').catch(async (error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(await t!.daemon.store.getTask(id))} ${JSON.stringify(await t!.runs('writer'))}`);
    });
    expect(dead.attempt).toBe(2);
    expect(dead.last_error).toMatch(/run \S+ failed exit 3/);
    const runs = await t.runs('writer');
    expect(runs.map((r) => [r.trigger, r.status, r.exit_code])).toEqual([
      ['task', 'failed', 3],
      ['task', 'failed', 3],
    ]);
  });

  it('pauses the queue when a run exits 75 after a Retry-After, and gives the attempt back', async () => {
    t = await startTestDaemon(config('{ concurrency: 1, retries: 3 }'));
    const service = t.daemon.tasks.service;
    const { id } = await service.enqueue('articles', { payload: 'limited' });
    await service.enqueue('articles', { payload: 'next' });
    const waiting = await waitFor(async () => {
      const task = await t!.daemon.store.getTask(id);
      return task?.state === 'queued' && task.last_error !== null ? task : null;
    }, 20_000, 'the rate-limited task back in the queue');
    expect(waiting.attempt).toBe(0);
    expect(Date.parse(waiting.run_at) - Date.now()).toBeGreaterThan(59 * 60_000);
    const state = await t.daemon.store.getQueueState('articles');
    expect(state.paused_until).toBe(waiting.run_at);
    // The other task waits too: one run, no retries burnt against the limit.
    const runs = await t.runs('writer');
    expect(runs.map((r) => [r.trigger, r.exit_code])).toEqual([['task', 75]]);
    expect((await service.queues())[0]).toMatchObject({ queued: 2, running: 0 });
  });

  it('opens no run_failed for a task run that exits 75 after `nightshift retry-after`; a plain exit 1 still does', async () => {
    const { receiver, yaml } = await hookChannel();
    t = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
queues:
  articles: { concurrency: 1, retries: 3 }
  posts: { concurrency: 1, retries: 0 }
jobs:
  writer:
    command: ${JSON.stringify(`${NS} retry-after 1h && exit 75`)}
    queue: articles
  poster:
    command: 'echo "HTTP 500 from the CMS" >&2; exit 1'
    queue: posts
`);
    const service = t.daemon.tasks.service;
    const { id } = await service.enqueue('articles', { payload: 'limited' });
    await waitFor(async () => (await t!.daemon.store.getTask(id))?.last_error != null, 20_000, 'the rate-limited task settled');
    // The run keeps its status: failed, exit 75, with the Retry-After it set. Only the alert is not raised.
    const [limited] = await t.runs('writer');
    expect(limited).toMatchObject({ trigger: 'task', status: 'failed', exit_code: 75, retry_after_at: expect.any(String) });

    // The writer's end was watched as it was announced; the poster's failure, started only now, is watched later.
    // So once the poster's incident is out, one for the writer would have been too.
    await service.enqueue('posts', { payload: 'post' });
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'run_failed', 'poster').length === 1, 20_000, "the poster's run_failed");
    expect(deliveredOf(receiver, 'incident.opened', 'run_failed', 'poster')[0]!.incident.summary).toBe('job poster failed with exit code 1');
    const incidents = (await (await fetch(`${t.url}/api/v1/incidents?all=1`)).json()) as Incident[];
    expect(incidents.map((i) => [i.kind, i.subject])).toEqual([['run_failed', 'poster']]);
  });

  it('claims nothing for a paused job, and starts again when it is resumed', async () => {
    t = await startTestDaemon(config('{ concurrency: 1 }'));
    await t.daemon.setPaused('writer', true);
    const { id } = await t.daemon.tasks.service.enqueue('articles', { payload: 'held' });
    // The enqueue poked the queue: once it has settled, the driver has looked and declined.
    await t.daemon.tasks.service.gate('articles').idle();
    expect((await t.daemon.store.getTask(id))?.state).toBe('queued');
    expect(await t.runs('writer')).toHaveLength(0);
    await t.daemon.setPaused('writer', false);
    await waitFor(async () => (await t!.daemon.store.getTask(id))?.state === 'done', 15_000, 'the task done after resume');
  });
});
