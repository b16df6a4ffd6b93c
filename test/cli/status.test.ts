/**
 * `nightshift status`, `pause` and `resume`, without a daemon (they read and write the store) and with a real one
 * (`nightshift up`, talked to over its API).
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { quickDaemonStatus } from '../../src/cli/daemon-status.ts';
import type { Run } from '../../src/store/types.ts';
import { ISO_UTC, PACKAGE_VERSION, RUN_KEYS, cleanupAll, makeProject, parseJson, startDaemon, waitFor } from './helpers.ts';

afterEach(cleanupAll);

/** Tests that start a daemon and wait on its schedule get more than the default 30 s on a loaded 2-core machine. */
const DAEMON_TEST_TIMEOUT_MS = 60_000;

const STATUS_KEYS = ['channels', 'checks', 'daemon', 'incidents_open', 'jobs', 'nodes'];
const JOB_KEYS = ['name', 'kind', 'state', 'paused', 'next_run_at', 'last_run'];
const ESC = '\u001b[';

describe('nightshift status without a daemon', () => {
  it('--json reads the store: daemon null, the documented keys, one entry per job with its kind', async () => {
    const p = await makeProject(`
jobs:
  ok: { command: "echo ok" }
  tick: { command: "true", schedule: "*/10 * * * * *" }
  svc: { command: "sleep 30", restart: always }
`);
    expect((await p.cli(['exec', '--job', 'ok', '--', 'true'])).code).toBe(0);
    const result = await p.cli(['status', '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const status = parseJson(result);
    expect(Object.keys(status).sort()).toEqual(STATUS_KEYS);
    expect(status.daemon).toBeNull();
    expect(status.nodes).toEqual([]);
    expect(status.checks).toEqual([]);
    expect(status.incidents_open).toBe(0);
    expect(status.jobs.map((j: { name: string }) => j.name)).toEqual(['ok', 'tick', 'svc']);
    for (const job of status.jobs) expect(Object.keys(job)).toEqual(expect.arrayContaining(JOB_KEYS));
    const [ok, tick, svc] = status.jobs;
    expect(ok).toMatchObject({ kind: 'triggered', state: 'idle', paused: false, next_run_at: null });
    expect(Object.keys(ok.last_run)).toEqual(expect.arrayContaining(RUN_KEYS));
    expect(ok.last_run).toMatchObject({ job: 'ok', status: 'succeeded', trigger: 'exec', exit_code: 0 });
    expect(tick).toMatchObject({ kind: 'scheduled', state: 'idle', paused: false, last_run: null });
    expect(tick.next_run_at).toMatch(ISO_UTC);
    expect(Date.parse(tick.next_run_at) % 10_000).toBe(0);
    expect(svc).toMatchObject({ kind: 'service', state: 'idle', paused: false, last_run: null });
  });

  it('prints a table on a non-TTY, without colour codes whether or not NO_COLOR is set', async () => {
    const p = await makeProject(`
jobs:
  ok: { command: "echo ok" }
  tick: { command: "true", schedule: "*/10 * * * * *" }
`);
    expect((await p.cli(['exec', '--job', 'ok', '--', 'true'])).code).toBe(0);
    const noColour = await p.cli(['status']);
    expect(noColour.code).toBe(0);
    const lines = noColour.stdout.split('\n');
    expect(lines[0]).toBe('daemon not running (showing the stored history; start it with `nightshift up`)');
    expect(lines[2]).toMatch(/^JOB +KIND +STATE +NEXT +LAST RUN +RESULT +DURATION$/);
    expect(lines[3]).toMatch(/^ok +triggered +idle +- +\S+ ago +succeeded +\S+$/);
    expect(lines[4]).toMatch(/^tick +scheduled +idle +in \S+ +- +- +-$/);
    expect(noColour.stdout).not.toContain(ESC);

    // picocolors colours only a TTY: a pipe gets plain text even without NO_COLOR; FORCE_COLOR proves the check.
    const plainEnv = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined };
    const piped = await p.cli(['status'], { env: plainEnv });
    expect(piped.stdout).not.toContain(ESC);
    const forced = await p.cli(['status'], { env: { ...plainEnv, FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(ESC);
  });

  it('pause and resume write the flag that status shows; an unknown job is exit 2', async () => {
    const p = await makeProject(`
jobs:
  tick: { command: "true", schedule: "*/10 * * * * *" }
`);
    expect(await p.cli(['pause', 'tick'])).toEqual({ code: 0, stdout: 'tick paused\n', stderr: '' });
    const paused = parseJson((await p.cli(['status', '--json']))).jobs[0];
    expect(paused).toMatchObject({ name: 'tick', paused: true, state: 'paused' });
    expect(await p.cli(['resume', 'tick'])).toEqual({ code: 0, stdout: 'tick resumed\n', stderr: '' });
    const resumed = parseJson((await p.cli(['status', '--json']))).jobs[0];
    expect(resumed).toMatchObject({ name: 'tick', paused: false, state: 'idle' });

    const unknown = await p.cli(['pause', 'tock']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("nightshift: no job named 'tock' (configured jobs: tick)\n");
  });
});

describe('nightshift status, pause and resume with a daemon', () => {
  it('shows the daemon; a pause made without it is honoured, and pause/resume through it skip and restart fires', async () => {
    const p = await makeProject(`
jobs:
  ok: { command: "echo ok" }
  tick: { command: "echo tick", schedule: "* * * * * *" }
`);
    // Paused while no daemon runs: the flag lives in the store, so the daemon started next skips the fires.
    expect((await p.cli(['pause', 'tick'])).code).toBe(0);
    const daemon = await startDaemon(p);
    const since = (runs: Run[], t: number, pred: (r: Run) => boolean) => runs.some((r) => Date.parse(r.scheduled_at) > t && pred(r));
    const skippedPaused = (r: Run) => r.status === 'skipped' && r.reason === 'paused';
    await waitFor(async () => since(await p.runs('tick'), 0, skippedPaused), 5_000, 'a fire skipped as paused');

    const statusResult = await p.cli(['status', '--json']);
    expect(statusResult.code).toBe(0);
    const status = parseJson(statusResult);
    expect(Object.keys(status).sort()).toEqual(STATUS_KEYS);
    expect(status.daemon).toMatchObject({ pid: daemon.child.pid, version: PACKAGE_VERSION, leader: true });
    expect(status.daemon.started_at).toMatch(ISO_UTC);
    expect(typeof status.daemon.node).toBe('string');
    expect(status.nodes).toEqual([{ name: status.daemon.node, leader: true, last_seen_at: expect.stringMatching(ISO_UTC), running: expect.any(Number) }]);
    expect(status.jobs.find((j: { name: string }) => j.name === 'tick')).toMatchObject({ kind: 'scheduled', paused: true, state: 'paused' });

    const table = await p.cli(['status']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^daemon running: pid ${daemon.child.pid}, v${PACKAGE_VERSION}, up since \\S+ ago\n`));
    expect(table.stdout).not.toContain('\u001b[');

    const resumedAt = Date.now();
    expect(await p.cli(['resume', 'tick'])).toEqual({ code: 0, stdout: 'tick resumed\n', stderr: '' });
    await waitFor(async () => since(await p.runs('tick'), resumedAt, (r) => r.status === 'succeeded'), 5_000, 'a run after resume');
    expect(parseJson(await p.cli(['status', '--json'])).jobs[1]).toMatchObject({ name: 'tick', paused: false });

    const pausedAt = Date.now();
    expect(await p.cli(['pause', 'tick'])).toEqual({ code: 0, stdout: 'tick paused\n', stderr: '' });
    await waitFor(async () => since(await p.runs('tick'), pausedAt + 1_000, skippedPaused), 5_000, 'a fire skipped after pause');
    const history = parseJson<Run[]>(await p.cli(['history', 'tick', '--json', '--limit', '1']));
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: 'skipped', reason: 'paused', trigger: 'schedule', started_at: null, exit_code: null });
    expect(parseJson(await p.cli(['status', '--json'])).jobs[1]).toMatchObject({ name: 'tick', paused: true, state: 'paused' });
  }, DAEMON_TEST_TIMEOUT_MS);
});

describe('nightshift status with a daemon that runs the file as it is', () => {
  it("takes the daemon's document without loading the config, and loads it again once the file changed", async () => {
    const p = await makeProject(`
jobs:
  ok: { command: "echo ok" }
`);
    // The file must be older than the daemon's read by more than the file clock margin (1 s): no event says so.
    await sleep(1_100);
    const daemon = await startDaemon(p);
    const options = { explicit: p.configPath, env: process.env, cwd: p.dir };
    const quick = await quickDaemonStatus(options);
    expect(quick?.daemon).toMatchObject({ pid: daemon.child.pid, config_file: p.configPath, config_read_at: expect.stringMatching(ISO_UTC) });
    expect(quick?.jobs.map((j) => j.name)).toEqual(['ok']);
    expect(parseJson(await p.cli(['status', '--json'])).daemon).toEqual(quick?.daemon);

    // Edited after the daemon read it (and not reloaded): the command validates the file itself, as without a daemon.
    appendFileSync(p.configPath, '  bad: { command: "echo bad", timeout: soon }\n');
    expect(await quickDaemonStatus(options)).toBeNull();
    const result = await p.cli(['status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nightshift\.yaml:\d+:\d+: jobs\.bad\.timeout: /);
  }, DAEMON_TEST_TIMEOUT_MS);
});
