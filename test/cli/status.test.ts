/**
 * `nightshift status`, `pause` and `resume`, without a daemon (they read and write the store) and with a real one
 * (`nightshift up`, talked to over its API).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { quickDaemonStatus } from '../../src/cli/daemon-status.ts';
import { readRuntimeRecord, runtimeDirs, writeRuntimeRecord, type RuntimeEnv } from '../../src/status/runtime-record.ts';
import type { Run } from '../../src/store/types.ts';
import type { CliResult } from '../helpers/cli.ts';
import { ISO_UTC, PACKAGE_VERSION, RUN_KEYS, cleanupAll, makeProject, makeTempDir, onCleanup, parseJson, startDaemon, waitFor } from './helpers.ts';

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

/** A runtime directory of the test's own (as $XDG_RUNTIME_DIR), so no record lands in the machine's. */
function privateRuntime(): RuntimeEnv {
  return { env: { XDG_RUNTIME_DIR: makeTempDir('nightshift-rt-') }, uid: process.getuid!(), tmpdir: tmpdir() };
}

/** A pid that ran and is gone. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('the daemon runtime record status finds the daemon by', () => {
  it('is written once the daemon listens (url, pid, file; no token, 0600 in a 0700 dir) and removed at stop', async () => {
    const p = await makeProject(`
jobs:
  ok: { command: "echo ok" }
`);
    await sleep(1_100); // older than the daemon's read by more than the file clock margin
    const rt = privateRuntime();
    const saved = process.env['XDG_RUNTIME_DIR'];
    process.env['XDG_RUNTIME_DIR'] = rt.env['XDG_RUNTIME_DIR']; // the daemon inherits it
    onCleanup(async () => {
      if (saved === undefined) delete process.env['XDG_RUNTIME_DIR'];
      else process.env['XDG_RUNTIME_DIR'] = saved;
    });
    const daemon = await startDaemon(p);
    // Written just after the daemon starts listening, so it may trail the first answer by a moment.
    await waitFor(async () => readRuntimeRecord(p.configPath, rt) !== null, 5_000, 'the runtime record');
    const dir = runtimeDirs(rt)[0]!;
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const text = readFileSync(join(dir, files[0]!), 'utf8');
    const record = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(record).sort()).toEqual(['config_file', 'config_read_at', 'pid', 'url']);
    expect(record).toMatchObject({ url: daemon.url, pid: daemon.child.pid, config_file: p.configPath, config_read_at: expect.stringMatching(ISO_UTC) });
    expect(text).not.toContain(readFileSync(join(p.stateDir, 'api-token'), 'utf8').trim());
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(readRuntimeRecord(p.configPath, rt)).toEqual(record);

    // The same document through each path: the record (no yaml), the file's http.listen (no record visible), and
    // the full load (the file's times moved past the daemon's read: same content, so the daemon's API still answers).
    const viaRecord = await p.cli(['status', '--json'], { env: { XDG_RUNTIME_DIR: rt.env['XDG_RUNTIME_DIR'] } });
    const viaListen = await p.cli(['status', '--json'], { env: { XDG_RUNTIME_DIR: makeTempDir('nightshift-rt-') } });
    const tableViaRecord = await p.cli(['status'], { env: { XDG_RUNTIME_DIR: rt.env['XDG_RUNTIME_DIR'] } });
    expect(await quickDaemonStatus({ explicit: p.configPath, env: process.env, cwd: p.dir, runtime: rt })).not.toBeNull();
    const later = new Date();
    utimesSync(p.configPath, later, later);
    expect(await quickDaemonStatus({ explicit: p.configPath, env: process.env, cwd: p.dir, runtime: rt })).toBeNull();
    const viaLoad = await p.cli(['status', '--json'], { env: { XDG_RUNTIME_DIR: rt.env['XDG_RUNTIME_DIR'] } });
    const tableViaLoad = await p.cli(['status'], { env: { XDG_RUNTIME_DIR: rt.env['XDG_RUNTIME_DIR'] } });
    // Only the moment of asking differs between two answers: the node's last_seen_at, and "… ago" in the table.
    const steady = (result: CliResult) => {
      expect(result.code).toBe(0);
      const doc = parseJson(result);
      for (const node of doc.nodes) node.last_seen_at = 'now';
      return doc;
    };
    expect(steady(viaRecord).daemon.pid).toBe(daemon.child.pid);
    expect(steady(viaListen)).toEqual(steady(viaRecord));
    expect(steady(viaLoad)).toEqual(steady(viaRecord));
    const relative = (text: string) => text.replace(/\S+ ago/g, 'X ago');
    expect(tableViaRecord.code).toBe(0);
    expect(relative(tableViaLoad.stdout)).toEqual(relative(tableViaRecord.stdout));

    await daemon.stop();
    expect(readdirSync(dir)).toEqual([]);
  }, DAEMON_TEST_TIMEOUT_MS);

  it("is followed to the daemon it names while that pid lives; a dead pid's or another user's record is ignored", async () => {
    const p = await makeProject(`
jobs:
  ok: { command: "echo ok" }
`);
    await sleep(1_100);
    // Not a daemon: a server that answers as one for this file, on a port the file does not name. Only the record
    // leads there, so its answer shows the record was used (and the file not parsed for http.listen).
    const server = createServer((_req, res) => {
      const daemon = { pid: process.pid, version: PACKAGE_VERSION, started_at: new Date().toISOString(), node: 'n', leader: true, config_file: p.configPath, config_read_at: new Date().toISOString() };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ daemon, jobs: [], checks: [], incidents_open: 0, channels: [], nodes: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const rt = privateRuntime();
    const options = { explicit: p.configPath, env: process.env, cwd: p.dir, runtime: rt };
    const record = { url, pid: process.pid, config_file: p.configPath, config_read_at: new Date().toISOString() };
    const file = await writeRuntimeRecord(record, rt);

    expect((await quickDaemonStatus(options))?.daemon?.pid).toBe(process.pid);

    // Its daemon is gone (a killed daemon leaves its record behind): ignored, and with no daemon on the file's port
    // the command reads the store.
    writeFileSync(file, JSON.stringify({ ...record, pid: deadPid() }));
    expect(readRuntimeRecord(p.configPath, rt)).toBeNull();
    expect(await quickDaemonStatus(options)).toBeNull();
    const result = await p.cli(['status'], { env: { XDG_RUNTIME_DIR: rt.env['XDG_RUNTIME_DIR'] } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^daemon not running/);

    // A live pid, but in a directory others may write to: not trusted.
    writeFileSync(file, JSON.stringify(record));
    expect(readRuntimeRecord(p.configPath, rt)).not.toBeNull();
    chmodSync(runtimeDirs(rt)[0]!, 0o777);
    expect(readRuntimeRecord(p.configPath, rt)).toBeNull();
    expect(await quickDaemonStatus(options)).toBeNull();
  });
});
