/**
 * A queue's retry budget (`retries: { budget: N/window }`), seed 003's "one rate-limited task retried 319 times": the
 * queue's charged failures are counted in the store; once N fall in the window its retries wait — the task is neither
 * burned nor dead-lettered — one `budget_exhausted` incident opens with the queue as its subject, and it resolves when
 * the queue may retry again. Real daemon, real processes, a restart on the same store; `task list` runs the built CLI
 * (dist/: build first with `npx tsc -p tsconfig.build.json`).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDir, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { FIXTURE_DIR, api } from './helpers.ts';
import type { QueueSummary } from '../../src/tasks/task-service.ts';

let t: TestDaemon | null = null;
afterEach(async () => {
  await t?.cleanup();
  t = null;
});

const WRITER = join(FIXTURE_DIR, 'task-writer.sh');

function config(retries: string): string {
  return `
shutdown_grace: 500ms
queues:
  articles: { concurrency: 1, retries: ${retries} }
jobs:
  writer:
    command: [sh, ${JSON.stringify(WRITER)}]
    queue: articles
`;
}

const BUDGETED = config('{ max: 100, backoff: 100ms, budget: 3/1h }');

async function budgetIncidents(daemon: TestDaemon) {
  return (await daemon.daemon.store.listIncidents({ limit: 100 })).filter((i) => i.kind === 'budget_exhausted');
}

describe("a queue's retry budget", () => {
  it('stops handing out retries after 3 charged failures, keeps the task, opens one incident, and keeps it across a restart', async () => {
    const dir = makeDir();
    const first = await startTestDaemon(BUDGETED, { dir });
    t = first;
    const { id } = await first.daemon.tasks.service.enqueue('articles', { payload: 'fail' });

    const [incident] = await waitFor(async () => {
      const open = await budgetIncidents(first);
      return open.length > 0 ? open : null;
    }, 20_000, 'the budget_exhausted incident');
    expect(incident).toMatchObject({ kind: 'budget_exhausted', subject: 'queue:articles', state: 'open' });
    expect(incident!.summary).toMatch(/queue articles: 3 failed attempts within 1h \(retries\.budget 3\/1h\)/);

    // Once the gate has looked again, nothing more was claimed: three runs, the task waiting with its attempts.
    first.daemon.tasks.service.poke('articles');
    await first.daemon.tasks.service.gate('articles').idle();
    const runs = await first.runs('writer');
    expect(runs.map((r) => [r.trigger, r.status, r.exit_code])).toEqual([
      ['task', 'failed', 3],
      ['task', 'failed', 3],
      ['task', 'failed', 3],
    ]);
    expect(await first.daemon.store.getTask(id)).toMatchObject({ state: 'queued', attempt: 3 });
    const { body: queues } = await api<QueueSummary[]>(first.url, 'GET', '/queues');
    expect(queues[0]).toMatchObject({ queue: 'articles', retries: 100, retry_backoff_ms: 100, retry_budget: '3/3600000ms', queued: 1 });
    const until = Date.parse(queues[0]!.budget_exhausted_until ?? '');
    expect(until - Date.now()).toBeGreaterThan(59 * 60_000);
    const { body: one } = await api<QueueSummary>(first.url, 'GET', '/queues/articles');
    expect(one.budget_exhausted_until).toBe(queues[0]!.budget_exhausted_until);
    // `task list` says why the task is not moving (the built CLI, dist/).
    const env = { NIGHTSHIFT_URL: first.url, NIGHTSHIFT_TOKEN: first.daemon.apiToken(), NIGHTSHIFT_RUN_ID: '' };
    const listed = await runCli(['task', 'list', 'articles'], { env, cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`queue articles: its retry budget is spent; failed tasks wait (not dead) until ${queues[0]!.budget_exhausted_until}`);

    // A new task still runs while the retries wait.
    const fresh = await first.daemon.tasks.service.enqueue('articles', { payload: 'fine' });
    await waitFor(async () => (await first.daemon.store.getTask(fresh.id))?.state === 'done', 15_000, 'the new task done');

    // The count is in the store: a restart finds the budget spent and the incident open, still one.
    await first.daemon.stop();
    t = await startTestDaemon(BUDGETED, { dir });
    await t.daemon.tasks.service.gate('articles').idle();
    expect(await t.runs('writer')).toHaveLength(4);
    expect((await t.daemon.tasks.service.queues())[0]!.budget_exhausted_until).toBe(queues[0]!.budget_exhausted_until);
    expect((await budgetIncidents(t)).map((i) => [i.id, i.state])).toEqual([[incident!.id, 'open']]);

    // Lifting the budget (a reload) resolves the incident and lets the retries go again.
    t.writeConfig(config('{ max: 3, backoff: 100ms }'));
    expect(await t.daemon.reload()).toBe(true);
    await waitFor(async () => (await t!.daemon.store.getTask(id))?.state === 'dead', 15_000, 'the task retried to its dead letter');
    expect((await budgetIncidents(t)).map((i) => i.state)).toEqual(['resolved']);
  });

  it('holds the retries of an SDK or API worker too, and resolves when the window lets one through', async () => {
    t = await startTestDaemon(config('{ max: 100, backoff: 100ms, budget: 2/2s }'));
    const service = t.daemon.tasks.service;
    const { id } = await service.enqueue('articles', { payload: 'by hand' });
    await t.daemon.setPaused('writer', true);
    const failAt: number[] = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const task = await service.claim({ kind: 'api' }, 'articles', { waitMs: 5_000 });
      expect(task).toMatchObject({ id, attempt });
      await service.fail({ kind: 'api' }, id, { error: 'HTTP 500' });
      failAt.push(Date.now());
    }
    expect(await service.claim({ kind: 'api' }, 'articles')).toBeNull();
    expect((await budgetIncidents(t)).map((i) => i.state)).toEqual(['open']);
    // The window (2s) lets the first failure out: a waiting claim gets the retry, and the incident resolves.
    const retried = await service.claim({ kind: 'api' }, 'articles', { waitMs: 10_000 });
    expect(retried).toMatchObject({ id, attempt: 3 });
    expect(Date.now()).toBeGreaterThanOrEqual(failAt[0]! + 2_000 - 50);
    await waitFor(async () => (await budgetIncidents(t!))[0]?.state === 'resolved', 5_000, 'the incident resolved');
  });
});
