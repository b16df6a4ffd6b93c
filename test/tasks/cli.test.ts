/**
 * `nightshift task …` as a real process against a real daemon: each subcommand is its SDK call, `--json` prints what
 * that call returns, bad flags and queue names exit 2 naming the fix, and inside a run the CLI acts as the run.
 * Uses the built CLI (dist/): build first with `npx tsc -p tsconfig.build.json`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { FIXTURE_DIR } from './helpers.ts';

let t: TestDaemon;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  t = await startTestDaemon(`
shutdown_grace: 500ms
queues:
  mail: { concurrency: 5, retries: 0 }
jobs:
  in-run: { command: [sh, ${JSON.stringify(join(FIXTURE_DIR, 'cli-in-run.sh'))}, ${JSON.stringify(CLI)}] }
`);
  // Outside a run: the daemon's URL and the API token from the environment, as the SDK takes them.
  env = { NIGHTSHIFT_URL: t.url, NIGHTSHIFT_TOKEN: t.daemon.apiToken(), NIGHTSHIFT_RUN_ID: '' };
});
afterEach(async () => {
  await t.cleanup();
});

const task = (args: string[]) => runCli(['task', ...args], { env, cwd: t.dir });
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe('nightshift task', () => {
  it('enqueue, claim and complete print what the SDK calls return', async () => {
    const enqueued = await task(['enqueue', 'mail', '{"to": "a@example.com"}', '--key', 'k1', '--json']);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const { id } = json(enqueued.stdout);
    expect(json((await task(['enqueue', 'mail', '{}', '--key', 'k1', '--json'])).stdout)).toEqual({ id, duplicate: true });

    expect((await task(['get', String(id)])).stdout).toBe('{"to":"a@example.com"}\n');
    const noId = await task(['get']);
    expect([noId.code, noId.stderr]).toEqual([2, expect.stringMatching(/give a task id/)]);

    const claimed = await task(['claim', 'mail', '--lease', '1m', '--json']);
    expect(json(claimed.stdout)).toMatchObject({ id, queue: 'mail', payload: { to: 'a@example.com' }, attempt: 1, token: expect.any(String) });
    const done = await task(['complete', String(id), '{"sent": 1}', '--json']);
    expect(json(done.stdout)).toMatchObject({ id, state: 'done', result: { sent: 1 } });

    const none = await task(['claim', 'mail', '--json']);
    expect([none.code, none.stdout.trim()]).toEqual([1, 'null']);
  });

  it('fail sends a task to the dead letter, list --dead shows it, requeue brings it back', async () => {
    const { id } = json((await task(['enqueue', 'mail', '"x"', '--json'])).stdout);
    await task(['claim', 'mail']);
    const failed = await task(['fail', String(id), '--error', 'bounced']);
    expect(failed.stdout).toMatch(`${String(id)} is dead (retries spent): nightshift task requeue ${String(id)}`);
    const dead = await task(['list', 'mail', '--dead', '--json']);
    expect(JSON.parse(dead.stdout)).toMatchObject([{ id, state: 'dead', last_error: 'bounced' }]);
    expect((await task(['list', 'mail', '--dead'])).stdout).toMatch(/bounced/);
    expect(json((await task(['requeue', String(id), '--json'])).stdout)).toMatchObject({ id, state: 'queued', attempt: 0 });
  });

  it('fail --retry-after pauses the queue without spending the retry', async () => {
    const { id } = json((await task(['enqueue', 'mail', '1', '--json'])).stdout);
    await task(['claim', 'mail']);
    const failed = await task(['fail', String(id), '--error', 'HTTP 429', '--retry-after', '10m', '--json']);
    expect(json(failed.stdout)).toMatchObject({ state: 'queued', attempt: 0 });
    expect((await t.daemon.store.getQueueState('mail')).paused_until).toBe(json(failed.stdout).run_at);
  });

  it('exits 2 naming the fix for a bad queue, JSON or flag', async () => {
    const unknown = await task(['enqueue', 'nope', '{}']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, "nightshift: no queue named 'nope' (declared queues: mail)"]);
    const badJson = await task(['enqueue', 'mail', '{to: 1}']);
    expect([badJson.code, badJson.stderr]).toEqual([2, expect.stringMatching(/JSON must be JSON, like/)]);
    const badLease = await task(['claim', 'mail', '--lease', '30']);
    expect([badLease.code, badLease.stderr]).toEqual([2, expect.stringMatching(/--lease: 30 has no unit/)]);
    const badState = await task(['list', 'mail', '--state', 'lost']);
    expect([badState.code, badState.stderr]).toEqual([2, expect.stringMatching(/--state must be one of queued, running, done, dead/)]);
  });

  it('finds the daemon through -c like every command, with the API token from the state directory', async () => {
    const config = join(t.dir, 'cli.yaml');
    writeFileSync(config, `state_dir: ${JSON.stringify(t.config.stateDir)}\nhttp: { listen: "${new URL(t.url).host}" }\nqueues:\n  mail: {}\njobs: {}\n`);
    const result = await runCli(['task', 'enqueue', 'mail', '{"via": "config"}', '--json', '-c', config], { env: { NIGHTSHIFT_URL: '' } });
    expect(result.code, result.stderr).toBe(0);
    expect(await t.daemon.store.getTask(String(json(result.stdout).id))).toMatchObject({ payload: { via: 'config' } });
  });

  it('task list works without the daemon, from the state database, and says so', async () => {
    const config = join(t.dir, 'cli.yaml');
    writeFileSync(config, `state_dir: ${JSON.stringify(t.config.stateDir)}\nhttp: { listen: "${new URL(t.url).host}" }\nqueues:\n  mail: {}\njobs: {}\n`);
    const { id } = json((await task(['enqueue', 'mail', '{"to": "b@example.com"}', '--json'])).stdout);
    await t.daemon.stop();
    const offline = await runCli(['task', 'list', 'mail', '-c', config], { env: { NIGHTSHIFT_URL: '' } });
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/^daemon not running \(showing the stored tasks; start it with `nightshift up`\)\nID +STATE/);
    expect(offline.stdout).toContain(String(id));
    const asJson = await runCli(['task', 'list', 'mail', '--json', '-c', config], { env: { NIGHTSHIFT_URL: '' } });
    expect(JSON.parse(asJson.stdout)).toMatchObject([{ id, queue: 'mail', state: 'queued', payload: { to: 'b@example.com' } }]);
    expect(JSON.parse(asJson.stdout)[0]).not.toHaveProperty('lease_token');
    const unknown = await runCli(['task', 'list', 'nope', '-c', config], { env: { NIGHTSHIFT_URL: '' } });
    expect([unknown.code, unknown.stderr]).toEqual([2, "nightshift: no queue named 'nope'; the config declares mail\n"]);
  });

  it('inside a run it acts as the run: its claim is the run\'s own', async () => {
    const { id } = json((await task(['enqueue', 'mail', '"for a run"', '--json'])).stdout);
    const run = await t.daemon.trigger('in-run', 'api');
    const ended = await t.waitForRuns('in-run', 'the run to end', (runs) => runs.some((r) => r.id === run.id && r.status !== 'running'));
    expect(ended[0]).toMatchObject({ status: 'succeeded' });
    const done = await waitFor(() => t.daemon.store.getTask(String(id)), 5_000, 'the task');
    expect(done).toMatchObject({ state: 'done', run_id: run.id, claimed_by: `run:${run.id}`, result: { by: 'run' } });
    expect(JSON.parse(readFileSync(join(t.dir, 'completed.json'), 'utf8'))).toMatchObject({ id, state: 'done' });
  });
});
