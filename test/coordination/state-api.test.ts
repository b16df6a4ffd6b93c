/**
 * The state API over real HTTP (what curl and the SDK use), and the `nightshift state` CLI against a daemon and
 * without one: versions, compare-and-set conflicts, the audit log, size and name limits with messages that name the
 * fix, and who may write.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/sdk/client.ts';
import { stateClient } from '../../src/sdk/state.ts';
import { makeDir, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { CLI, freePort, runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { readJobLogLines } from '../../src/runner/output/log-reader.ts';
import { api } from './helpers.ts';

let current: TestDaemon | null = null;
const dirs: string[] = [];
afterEach(async () => {
  await current?.cleanup();
  current = null;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('state over HTTP', () => {
  it('versions every write, compare-and-sets on a version, and logs who wrote what', async () => {
    const t = (current = await startTestDaemon('shutdown_grace: 1s\njobs: {}\n'));
    expect(await api(t, 'GET', '/state/articles')).toMatchObject({ status: 404, body: { error: { code: 'unknown_key' } } });
    expect(await api(t, 'PUT', '/state/articles', { body: { value: { n: 1 } } })).toEqual({ status: 200, body: { key: 'articles', version: 1 } });
    expect((await api(t, 'PUT', '/state/articles', { body: { value: { n: 2 }, version: 1 } })).body).toEqual({ key: 'articles', version: 2 });

    const stale = await api(t, 'PUT', '/state/articles', { body: { value: { n: 3 }, version: 1 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toEqual({ code: 'conflict', message: expect.stringContaining('state key articles is at version 2, not version 1') });
    expect((await api(t, 'PUT', '/state/fresh', { body: { value: 1, version: 0 } })).body.version).toBe(1);
    expect((await api(t, 'PUT', '/state/fresh', { body: { value: 2, version: 0 } })).status).toBe(409);

    const read = await api(t, 'GET', '/state/articles', { token: null }); // reading needs no token
    expect(read.body).toMatchObject({ key: 'articles', value: { n: 2 }, version: 2, updated_by_job: null, updated_by_run: null });
    const log = (await api(t, 'GET', '/state/articles/log')).body;
    expect(log.map((e: { version: number; value: unknown }) => [e.version, e.value])).toEqual([[2, { n: 2 }], [1, { n: 1 }]]);
    expect((await api(t, 'GET', '/state')).body.map((k: { key: string }) => k.key)).toEqual(['articles', 'fresh']);

    // The SDK over the same API: a stale version is a ConflictError; update() retries to the right answer.
    const sdk = stateClient(() => ({ url: t.url, token: t.daemon.apiToken(), runId: null }));
    await expect(sdk.set('articles', 'x', { version: 1 })).rejects.toBeInstanceOf(ConflictError);
    expect(await sdk.update<{ n: number }>('articles', (v) => ({ n: (v?.n ?? 0) + 10 }))).toEqual({ value: { n: 12 }, version: 3 });
    expect(await sdk.get('nothing')).toBeNull();
  });

  it('refuses bad input with 400/413 naming the field and the fix, and writes without a token with 401', async () => {
    const t = (current = await startTestDaemon('shutdown_grace: 1s\njobs: {}\n'));
    expect(await api(t, 'PUT', '/state/k', { body: { value: 1 }, token: null })).toMatchObject({ status: 401 });
    expect(await api(t, 'PUT', '/state/k', { body: { value: 1 }, token: 'not-a-token' })).toMatchObject({ status: 401 });
    const badKey = await api(t, 'PUT', `/state/${encodeURIComponent('has space')}`, { body: { value: 1 } });
    expect(badKey).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(badKey.body.error.message).toContain('state key "has space" is not valid');
    expect((await api(t, 'PUT', '/state/k', { body: { nope: 1 } })).body.error.message).toContain('the body needs a value');
    expect((await api(t, 'PUT', '/state/k', { body: '{oops' })).body.error.message).toContain('the body must be JSON');
    expect((await api(t, 'PUT', '/state/k', { body: { value: 1, version: 'two' } })).status).toBe(400);
    const big = await api(t, 'PUT', '/state/k', { body: { value: 'x'.repeat(1024 * 1024) } });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain('over the 1M limit');
    const huge = await api(t, 'PUT', '/state/k', { body: { value: 'x'.repeat(2 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(await t.daemon.store.getState('k')).toBeNull();
  });

  it("a run's token writes as that run, and only while it runs", async () => {
    const t = (current = await startTestDaemon('shutdown_grace: 1s\njobs:\n  quick: { command: "true" }\n'));
    const run = await t.daemon.trigger('quick', 'api');
    await t.waitForRuns('quick', 'the run to end', (list) => list.some((r) => r.id === run.id && r.status === 'succeeded'));
    const token = t.daemon.runTokens.issue(run.id);
    const refused = await api(t, 'PUT', '/state/k', { body: { value: 1 }, token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('not running');
  });
});

describe('nightshift state', () => {
  async function configFile(port: number): Promise<string> {
    const dir = makeDir();
    dirs.push(dir);
    const path = join(dir, 'nightshift.yaml');
    writeFileSync(path, `http: { listen: 127.0.0.1:${port} }\njobs: {}\n`);
    return path;
  }

  it('get, set and log without a daemon, on the state database', async () => {
    const config = await configFile(await freePort());
    expect(await runCli(['state', 'get', 'seen', '-c', config])).toMatchObject({ code: 1, stderr: 'nightshift: state key seen has never been written\n' });
    expect(await runCli(['state', 'get', 'seen', '-c', config, '--json'])).toMatchObject({ code: 1, stdout: 'null\n' });
    expect(await runCli(['state', 'set', 'seen', '["a"]', '-c', config])).toMatchObject({ code: 0, stdout: 'seen is now version 1\n' });
    expect(await runCli(['state', 'set', 'seen', '["a","b"]', '--if-version', '1', '-c', config, '--json'])).toMatchObject({ code: 0, stdout: '{\n  "version": 2\n}\n' });
    const conflict = await runCli(['state', 'set', 'seen', '[]', '--if-version', '1', '-c', config]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('state key seen is at version 2, not version 1');
    expect(JSON.parse((await runCli(['state', 'get', 'seen', '-c', config])).stdout)).toEqual(['a', 'b']);
    expect(JSON.parse((await runCli(['state', 'get', 'seen', '-c', config, '--json'])).stdout)).toEqual({ value: ['a', 'b'], version: 2 });
    const log = await runCli(['state', 'log', 'seen', '-c', config]);
    expect(log.stdout).toMatch(/VERSION\s+AT\s+BY\s+VALUE\n2\s+\S+\s+operator\s+\["a","b"\]\n1\s+\S+\s+operator\s+\["a"\]/);
    const bad = await runCli(['state', 'set', 'seen', 'not json', '-c', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not JSON');
  });

  it('goes through the daemon when it answers', async () => {
    const port = await freePort();
    const t = (current = await startTestDaemon(`shutdown_grace: 1s\nhttp: { listen: 127.0.0.1:${port} }\njobs: {}\n`));
    const config = join(t.dir, 'nightshift.yaml');
    expect((await runCli(['state', 'set', 'cursor', '{"page": 3}', '-c', config])).code).toBe(0);
    expect(await t.daemon.store.getState('cursor')).toMatchObject({ value: { page: 3 }, version: 1 });
    const log = JSON.parse((await runCli(['state', 'log', 'cursor', '-c', config, '--json'])).stdout);
    expect(log).toEqual([expect.objectContaining({ key: 'cursor', version: 1, value: { page: 3 }, job: null, run_id: null })]);
  });

  it('inside a run acts as the run: its writes are audited under its job and run, its locks name it', async () => {
    const cmd = (...args: string[]) => JSON.stringify([process.execPath, CLI, ...args]);
    const t = (current = await startTestDaemon(`
shutdown_grace: 1s
jobs:
  cli-writer:
    command: ${cmd('state', 'set', 'from-cli', '{"by": "cli"}')}
  cli-locker:
    command: ${cmd('lock', 'batch', '--json', '--', 'true')}
`));
    for (const job of ['cli-writer', 'cli-locker']) {
      const run = await t.daemon.trigger(job, 'api');
      const runs = await t.waitForRuns(job, `${job} to end`, (list) => list.some((r) => r.id === run.id && r.status !== 'running'));
      expect(runs.find((r) => r.id === run.id)?.status).toBe('succeeded');
      if (job === 'cli-writer') {
        expect(await t.daemon.store.getState('from-cli')).toMatchObject({ value: { by: 'cli' }, updated_by_job: 'cli-writer', updated_by_run: run.id });
      } else {
        const said = await waitFor(async () => (await readJobLogLines(join(t.config.stateDir, 'logs'), job, { runId: run.id })).join(''), 5_000, 'its log');
        expect(said).toContain(`"run_id": "${run.id}"`);
        expect(await t.daemon.store.getLock('lock:batch')).toBeNull();
      }
    }
  });
});
