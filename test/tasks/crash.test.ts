/**
 * A daemon killed with -9 while a queue-driven run holds a task: the next daemon marks the run lost, kills what it
 * left, gives the task back without charging it (a daemon's death is not the task's failure) and runs it again —
 * nothing is lost, and nothing is retried by the job on top of the queue. Real `nightshift up` processes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, makeProject, startDaemon, waitFor } from '../cli/helpers.ts';

afterEach(cleanupAll);

describe('a daemon that dies while a task runs', () => {
  it('gives the task back free of charge and runs it again on the next start', async () => {
    const project = await makeProject(`
queues:
  q: { concurrency: 1, retries: 0 }
jobs:
  slow:
    command: [sh, -c, "echo $NIGHTSHIFT_TASK_ID >> seen.txt; if [ -f once ]; then exit 0; fi; touch once; exec sleep 60"]
    queue: q
    retries: 3
`);
    const first = await startDaemon(project);
    const token = readFileSync(join(project.stateDir, 'api-token'), 'utf8').trim();
    const enqueued = await fetch(`${first.url}/api/v1/queues/q/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { n: 1 } }),
    });
    const { id } = (await enqueued.json()) as { id: string };
    const store = await project.store();
    await waitFor(async () => (await store.getTask(id))?.run_id ?? null, 10_000, 'the task bound to its run');
    await waitFor(async () => (await project.runs('slow'))[0]?.pid ?? null, 10_000, 'the run to be spawned');

    process.kill(first.child.pid!, 'SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(await store.getTask(id)).toMatchObject({ state: 'running', attempt: 1 });

    await startDaemon(project);
    const done = await waitFor(async () => {
      const task = await store.getTask(id);
      return task?.state === 'done' ? task : null;
    }, 15_000, 'the task done by the second daemon');
    // The lost attempt was given back: retries: 0 and still done, on what counts as its first attempt.
    expect(done.attempt).toBe(1);
    const runs = await project.runs('slow');
    expect(runs.map((r) => [r.trigger, r.status, r.reason])).toEqual([
      ['task', 'succeeded', null],
      ['task', 'lost', 'daemon_restart'],
    ]);
    expect(readFileSync(join(project.dir, 'seen.txt'), 'utf8').trim().split('\n')).toEqual([id, id]);
  });

  it('reclaims the task locks of several runs at once (queue concurrency) and runs every task again', async () => {
    const project = await makeProject(`
queues:
  q: { concurrency: 2, retries: 0 }
jobs:
  slow:
    command: [sh, -c, "echo $NIGHTSHIFT_TASK_ID >> seen.txt; if [ -f once-$NIGHTSHIFT_TASK_ID ]; then exit 0; fi; touch once-$NIGHTSHIFT_TASK_ID; exec sleep 60"]
    queue: q
`);
    const first = await startDaemon(project);
    const token = readFileSync(join(project.stateDir, 'api-token'), 'utf8').trim();
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const enqueued = await fetch(`${first.url}/api/v1/queues/q/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ payload: { n } }),
      });
      ids.push(((await enqueued.json()) as { id: string }).id);
    }
    const store = await project.store();
    await waitFor(async () => ((await project.runs('slow')).filter((r) => r.pid !== null).length === 2 ? true : null), 10_000, 'two runs spawned');
    const jobLocks = async () => (await store.listLocks()).filter((l) => l.name.startsWith('job:')).map((l) => l.name);
    expect((await jobLocks()).sort()).toEqual(ids.map((id) => `job:slow#task:${id}`).sort());

    process.kill(first.child.pid!, 'SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    await startDaemon(project);
    await waitFor(async () => ((await store.countTasks())[0]?.done === 2 ? true : null), 15_000, 'both tasks done by the second daemon');
    const runs = await project.runs('slow');
    expect(runs.map((r) => r.status).sort()).toEqual(['lost', 'lost', 'succeeded', 'succeeded']);
    expect((await store.listTasks({ queue: 'q' })).map((t) => t.attempt)).toEqual([1, 1]);
    expect(await jobLocks()).toEqual([]);
  });
});
