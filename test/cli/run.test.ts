/**
 * `nightshift run JOB [--wait] [--json]`: starting a job through a real daemon, and what happens without one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/store/types.ts';
import { ISO_UTC, RUN_KEYS, ULID, cleanupAll, makeProject, parseJson, startDaemon } from './helpers.ts';

afterEach(cleanupAll);

/** Tests that start a daemon and wait on its schedule get more than the default 30 s on a loaded 2-core machine. */
const DAEMON_TEST_TIMEOUT_MS = 60_000;

const JOBS = `
jobs:
  ok:
    command: echo "hello from ok"
  bad:
    command: echo "failing" >&2; exit 3
`;

function expectRunShape(run: Run): void {
  expect(Object.keys(run)).toEqual(expect.arrayContaining(RUN_KEYS));
  expect(run.id).toMatch(ULID);
  expect(run).toMatchObject({ attempt: 1, trigger: 'manual', reason: null, signal: null, degraded: null });
  for (const time of [run.scheduled_at, run.started_at, run.ended_at]) expect(time).toMatch(ISO_UTC);
  expect(Date.parse(run.started_at!)).toBeGreaterThanOrEqual(Date.parse(run.scheduled_at));
  expect(run.duration_ms).toBe(Date.parse(run.ended_at!) - Date.parse(run.started_at!));
  expect(Number.isInteger(run.pid) && run.pid! > 0).toBe(true);
}

describe('nightshift run with a daemon', () => {
  it('--wait exits 0 for a success and 1 for a failure; --json prints the Run; logs and history see the runs', async () => {
    const p = await makeProject(JOBS);
    await startDaemon(p);

    const ok = await p.cli(['run', 'ok', '--wait']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    const okId = ok.stdout.match(/^ok: run (\S+) running\n/)?.[1];
    expect(okId).toMatch(ULID);
    expect(ok.stdout).toBe(`ok: run ${okId} running\nok: run ${okId} succeeded\n`);

    const bad = await p.cli(['run', 'bad', '--wait']);
    expect(bad.code).toBe(1);
    const badId = bad.stdout.match(/^bad: run (\S+) running\n/)?.[1];
    expect(bad.stdout).toBe(`bad: run ${badId} running\nbad: run ${badId} failed exit 3\n`);
    expect(bad.stderr).toBe(`nightshift: bad did not succeed (see nightshift logs bad --run ${badId})\n`);

    const okJson = await p.cli(['run', 'ok', '--wait', '--json']);
    expect(okJson.code).toBe(0);
    const okRun = parseJson<Run>(okJson);
    expectRunShape(okRun);
    expect(okRun).toMatchObject({ job: 'ok', status: 'succeeded', exit_code: 0 });

    const badJson = await p.cli(['run', 'bad', '--wait', '--json']);
    expect(badJson.code).toBe(1);
    const badRun = parseJson<Run>(badJson);
    expectRunShape(badRun);
    expect(badRun).toMatchObject({ job: 'bad', status: 'failed', exit_code: 3 });
    expect(badJson.stderr).toBe(`nightshift: bad did not succeed (see nightshift logs bad --run ${badRun.id})\n`);

    // Through the daemon's API: newest first.
    const history = parseJson<Run[]>(await p.cli(['history', 'ok', '--json']));
    expect(history.map((r) => r.id)).toEqual([okRun.id, okId]);
    expect(await p.cli(['logs', 'ok', '--run', okRun.id])).toEqual({ code: 0, stdout: 'hello from ok\n', stderr: '' });
    expect((await p.cli(['logs', 'bad', '--run', badRun.id])).stdout).toBe('failing\n');
  }, DAEMON_TEST_TIMEOUT_MS);

  it('without --wait returns at once (exit 0) with the started run; a paused job still starts by hand', async () => {
    const p = await makeProject(JOBS);
    await startDaemon(p);
    const started = await p.cli(['run', 'ok', '--json']);
    expect(started.code).toBe(0);
    const run = parseJson<Run>(started);
    expect(run).toMatchObject({ job: 'ok', trigger: 'manual', ended_at: null });
    expect(['queued', 'running']).toContain(run.status);

    expect((await p.cli(['pause', 'ok'])).code).toBe(0);
    const manual = await p.cli(['run', 'ok', '--wait']);
    expect(manual.code).toBe(0);
    expect(manual.stdout).toMatch(/succeeded\n$/);
  }, DAEMON_TEST_TIMEOUT_MS);

  it('exits 1 when the start is skipped because the job is already running (overlap: skip)', async () => {
    const p = await makeProject(`
jobs:
  slow:
    command: sleep 30
    kill_grace: 200ms
`);
    await startDaemon(p);
    const first = await p.cli(['run', 'slow']);
    expect(first.code).toBe(0);
    const second = await p.cli(['run', 'slow']);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/^slow: run \S+ skipped \(overlap\)\n$/);
    expect(second.stderr).toBe('nightshift: slow was not started (overlap); see nightshift status\n');
  }, DAEMON_TEST_TIMEOUT_MS);
});

describe('nightshift run without a daemon', () => {
  it('exits 1 saying to start the daemon or use exec; an unknown job is exit 2 listing the configured ones', async () => {
    const p = await makeProject(JOBS);
    const result = await p.cli(['run', 'ok', '--wait']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `nightshift: the daemon is not running (nothing answers on 127.0.0.1:${p.port}), so it cannot start ok; ` +
        'start it with `nightshift up`, or run the command once with `nightshift exec --job ok -- CMD`\n',
    );
    expect(await p.runs('ok')).toEqual([]);

    const unknown = await p.cli(['run', 'okk', '--wait']);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: "nightshift: no job named 'okk' (configured jobs: ok, bad)\n" });
  });
});
