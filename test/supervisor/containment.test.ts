/**
 * Crash loops (seed 001: 14,535 restarts), retry budgets and Retry-After (seed 003: 319 retries), and output and
 * spend breakers (seed 002: 47 articles in 8 minutes) — on a real daemon with real processes.
 */
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { count, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, deliveredOf, hookChannel } from '../watch/helpers.ts';
import { NS, jobStatus, post } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

describe('crash loop', () => {
  it('a service failing at once is crash_loop after N quick failures: one incident, longest backoff; it clears once it stays up', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  worker:
    command: 'test -f ok || { echo "KeyError: REDIS_URL" >&2; exit 3; }; exec sleep 600'
    restart: always
    min_uptime: 3s           # generous: on a loaded CI box even a failing sh can take over a second
    crash_loop: { failures: 3 }
`));
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'crash_loop', 'worker').length === 1, 20_000, 'the crash_loop incident');
    const [told] = deliveredOf(receiver, 'incident.opened', 'crash_loop', 'worker');
    expect(told!.incident.summary).toMatch(/^service worker failed 3 times in a row within 3s of starting \(last: exit 3\); restarting only every 5m$/);
    expect(told!.incident.detail).toMatchObject({ exit_codes: [3, 3, 3], stderr_tail: ['KeyError: REDIS_URL'] });
    expect(await jobStatus(t, 'worker')).toMatchObject({ state: 'crash_loop', hint: expect.stringMatching(/clears once it stays up/) });
    const queued = (await t.runs('worker')).find((r) => r.status === 'queued');
    expect(Date.parse(queued!.scheduled_at) - Date.now()).toBeGreaterThan(4 * 60_000); // the longest backoff
    const failed = count(await t.runs('worker'), 'failed');

    // Fixed, and resumed: it starts now (not in 5 minutes), stays up past min_uptime, and the loop is over.
    writeFileSync(`${t.dir}/ok`, '');
    expect((await post(t, '/jobs/worker/resume')).status).toBe(200);
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'crash_loop', 'worker').length === 1, 12_000, 'crash_loop resolved');
    expect(await jobStatus(t, 'worker')).toMatchObject({ state: 'running', state_reason: null });
    expect(count(await t.runs('worker'), 'failed')).toBe(failed);
    expect(deliveredOf(receiver, 'incident.opened', 'crash_loop')).toHaveLength(1);
  });
});

describe('retry budget and Retry-After', () => {
  it('a spent budget halts the job with one incident; only resume starts it again', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  sync:
    command: 'echo "429 Too Many Requests" >&2; exit 1'
    retries: { max: 10, backoff: 100ms, budget: 3/1h }
`));
    await post(t, '/jobs/sync/runs');
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'budget_exhausted', 'sync').length === 1, 10_000, 'budget_exhausted');
    const runs = await t.runs('sync');
    expect(count(runs, 'failed')).toBe(3); // the budget, not the 11 attempts retries would allow
    expect(runs.filter((r) => r.status === 'queued')).toHaveLength(0);
    const [told] = deliveredOf(receiver, 'incident.opened', 'budget_exhausted', 'sync');
    expect(told!.incident.summary).toMatch(/^job sync failed 3 times within 1h \(retries.budget 3\/1h\): halted$/);
    expect(deliveredOf(receiver, 'incident.opened', 'run_failed', 'sync')).toHaveLength(0); // one message, not two
    expect(await jobStatus(t, 'sync')).toMatchObject({ state: 'halted', state_reason: expect.stringMatching(/^budget_exhausted/) });
    expect((await post(t, '/jobs/sync/resume')).status).toBe(200);
    expect(await jobStatus(t, 'sync')).toMatchObject({ state: expect.not.stringMatching(/halted/) });
  });

  it('exit 75 after `nightshift retry-after 2s`: the retry waits the 2 s, not the 100 ms backoff; spent retries are run_failed', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  api:
    command: ${JSON.stringify(`${NS} retry-after 2s && exit 75`)}
    retries: { max: 1, backoff: 100ms }
`));
    await post(t, '/jobs/api/runs');
    const runs = await t.waitForRuns('api', 'the retry queued', (list) => list.some((r) => r.trigger === 'retry'));
    const first = runs.find((r) => r.attempt === 1)!;
    const retry = runs.find((r) => r.trigger === 'retry')!;
    expect(first).toMatchObject({ status: 'failed', exit_code: 75, retry_after_at: expect.any(String) });
    expect(Date.parse(retry.scheduled_at) - Date.parse(first.ended_at!)).toBeGreaterThan(1500);
    expect(Date.parse(retry.scheduled_at)).toBeGreaterThanOrEqual(Date.parse(first.retry_after_at!) - 5);
    // A job's Retry-After is honoured by its retries: once they are spent nothing tries again, so the chain's end is
    // run_failed like any other (a queue's task run, which its queue retries, is not: test/tasks/queue-job.test.ts).
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'run_failed', 'api').length === 1, 10_000, 'run_failed after the retry');
    const [told] = deliveredOf(receiver, 'incident.opened', 'run_failed', 'api');
    expect(told!.incident.summary).toBe('job api failed with exit code 75 after 2 attempts');
    expect(told!.incident.detail).toMatchObject({ run_id: retry.id });
  });
});

describe('breakers', () => {
  it('an agent reporting 30 outputs opens its group breaker once: the other job skips, the running one is stopped', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  writer:
    command: ${JSON.stringify(`for i in 1 2 3; do ${NS} output 10 || exit 9; done; sleep 600`)}
    breaker: { outputs: 20, per: 10m, group: publishing, stop_running: true }
  poster:
    command: 'true'
    schedule: "* * * * * *"
    breaker: { outputs: 20, per: 10m, group: publishing }
`));
    await post(t, '/jobs/writer/runs');
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'breaker_open', 'publishing').length === 1, 20_000, 'breaker_open');
    const [told] = deliveredOf(receiver, 'incident.opened', 'breaker_open', 'publishing');
    expect(told!.incident.summary).toBe('breaker publishing opened: 20 outputs in 10m, limit 20; writer, poster will not start');
    const writer = await t.waitForRuns('writer', 'writer stopped', (list) => list.some((r) => r.status === 'killed'));
    expect(writer.find((r) => r.status === 'killed')).toMatchObject({ status: 'killed', reason: 'breaker_open' });
    await t.waitForRuns('poster', 'a poster fire skipped', (list) => count(list, 'skipped', 'breaker_open') >= 1);
    expect(await jobStatus(t, 'poster')).toMatchObject({ state: 'breaker_open', hint: expect.stringMatching(/nightshift resume poster/) });
    expect(deliveredOf(receiver, 'incident.opened', 'breaker_open')).toHaveLength(1);

    expect((await post(t, '/jobs/poster/resume')).status).toBe(200);
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'breaker_open', 'publishing').length === 1, 5000, 'breaker closed');
    await t.waitForRuns('poster', 'poster running again', (list) => count(list, 'succeeded') >= 1);
  });

  it('spend past the budget stops the job starting, with a budget_exhausted incident', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  agent:
    command: ${JSON.stringify(`${NS} output --spend 3.00 && ${NS} output --spend 2.50`)}
    schedule: "* * * * * *"
    budget: { spend: 5.00, per: 1d }
`));
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'budget_exhausted', 'agent (spend)').length === 1, 10_000, 'the spend incident');
    expect(deliveredOf(receiver, 'incident.opened', 'budget_exhausted', 'agent (spend)')[0]!.incident.summary).toBe(
      'job agent spent 5.50 in 1d, budget 5.00: it will not start until resumed',
    );
    await t.waitForRuns('agent', 'a fire skipped', (list) => count(list, 'skipped', 'breaker_open') >= 1);
  });

  it('resume gives the breaker and the spend budget a fresh window, kept across a daemon restart', async () => {
    const { receiver, yaml } = await hookChannel();
    const config = `${yaml}
shutdown_grace: 500ms
jobs:
  writer:
    command: 'sleep 600'
    breaker: { outputs: 5, per: 10m }
    budget: { spend: 1.00, per: 10m }
`;
    let t = (current = await startTestDaemon(config));
    const dir = t.dir;
    // The API token may report for any run; the POST returns once the breakers have been checked.
    const report = async (outputs: number, spend: number) => {
      const runs = await t.waitForRuns('writer', 'a running writer', (list) => list.some((r) => r.status === 'running'));
      const running = runs.find((r) => r.status === 'running')!;
      const res = await fetch(`${t.url}/api/v1/runs/${running.id}/outputs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.daemon.apiToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ outputs, spend }),
      });
      expect(res.status).toBe(200);
    };
    const open = async () => (await t.daemon.store.listOpenBreakers()).map((b) => b.name);

    await post(t, '/jobs/writer/runs');
    await report(5, 1.0);
    expect(await open()).toEqual(['outputs:writer', 'spend:writer']);
    expect((await post(t, '/jobs/writer/resume')).status).toBe(200);
    expect(await open()).toEqual([]);

    // The reset is in the store: a restart keeps the 5 outputs and 1.00 from before it out of the window.
    await t.daemon.stop();
    t = current = await startTestDaemon(config, { dir });
    await post(t, '/jobs/writer/runs');
    await report(1, 0.5);
    expect(await open()).toEqual([]); // without the reset: 6 outputs and 1.50 in 10m, both open again
    await report(3, 0.25);
    expect(await open()).toEqual([]);
    expect(await jobStatus(t, 'writer')).toMatchObject({ state: expect.not.stringMatching(/breaker_open/) });
    // What is reported after the resume counts in full: the 5th output and the spend reaching 1.00 open both again.
    await report(1, 0.25);
    expect(await open()).toEqual(['outputs:writer', 'spend:writer']);
    expect(await jobStatus(t, 'writer')).toMatchObject({ state: 'breaker_open' });
    await waitFor(
      () =>
        deliveredOf(receiver, 'incident.opened', 'breaker_open', 'writer').length === 2 &&
        deliveredOf(receiver, 'incident.opened', 'budget_exhausted', 'writer (spend)').length === 2,
      10_000,
      'breaker_open and budget_exhausted told a second time',
    );
  });

  it('outputs need the run\'s own token, and a bad body is a 400 naming the field', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  agent: { command: 'sleep 30' }
`));
    await post(t, '/jobs/agent/runs');
    const [run] = await t.waitForRuns('agent', 'running', (list) => list.some((r) => r.status === 'running'));
    const url = `${t.url}/api/v1/runs/${run!.id}/outputs`;
    expect((await fetch(url, { method: 'POST', body: '{"outputs":1}' })).status).toBe(401);
    const token = encodeURIComponent(t.daemon.runTokens.issue(run!.id));
    const bad = await fetch(`${url}?token=${token}`, { method: 'POST', body: '{"outputs":-2}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { message: expect.stringMatching(/^outputs must be a whole number/) } });
    const ok = await fetch(`${url}?token=${token}`, { method: 'POST', body: '{"outputs":2,"spend":0.5}' });
    expect(await ok.json()).toEqual({ run: run!.id, outputs: 2, spend: 0.5 });
  });
});
