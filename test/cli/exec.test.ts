/**
 * `nightshift exec --job NAME [--timeout D] [--lock] -- CMD…`, the crontab wrapper: the command's exit code, a
 * recorded run, output echoed and captured, a deadline that kills the whole tree, the job lock (crash-safe, shared
 * with the daemon). Real processes, a real SQLite file, and for the shared lock a real daemon.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/store/types.ts';
import { openStore } from '../../src/store/open.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import {
  FIXTURES,
  ISO_UTC,
  RUN_KEYS,
  cleanupAll,
  finished,
  isGone,
  killLeftoverRuns,
  makeProject,
  makeTempDir,
  onCleanup,
  parseJson,
  runCli,
  startDaemon,
  waitFor,
  type Project,
} from './helpers.ts';

afterEach(cleanupAll);

/** Tests that start a daemon and wait on its schedule get more than the default 30 s on a loaded 2-core machine. */
const DAEMON_TEST_TIMEOUT_MS = 60_000;

const host = new HostProcesses();

/** The job's newest run as `history --json` prints it. */
async function lastRunShown(p: Project, job: string): Promise<Run> {
  const result = await p.cli(['history', job, '--json', '--limit', '1']);
  expect(result.code).toBe(0);
  return parseJson<Run[]>(result)[0]!;
}

/** The job's newest run, read from the store (cheaper than a CLI process where the CLI is not what is tested). */
async function lastRun(p: Project, job: string): Promise<Run> {
  return (await p.runs(job, 1))[0]!;
}

/** Waits until the job's newest run is running and has its pid recorded. */
async function runningRun(p: Project, job: string): Promise<Run & { pid: number }> {
  return waitFor(async () => {
    const [run] = await p.runs(job, 1);
    return run?.status === 'running' && run.pid !== null ? (run as Run & { pid: number }) : null;
  }, 10_000, `a running ${job} run with its pid`);
}

function gatedScript(gate: string, after = 'echo done'): string {
  return `echo started; while [ ! -e ${gate} ]; do sleep 0.05; done; ${after}`;
}

const skippedLine = (job: string, runId: string, pid: number) =>
  `nightshift: ${job} is already running (run ${runId}, pid ${pid}); this start was skipped and recorded\n`;

describe('nightshift exec', () => {
  it("exits with the command's code, echoes its output, records a Run (trigger exec) and captures the output", async () => {
    const p = await makeProject('jobs:\n  three: { command: "echo the configured command is replaced" }\n');
    const result = await p.cli(['exec', '--job', 'three', '--', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3']);
    expect(result).toEqual({ code: 3, stdout: 'to-stdout\n', stderr: 'to-stderr\n' });

    const run = await lastRunShown(p, 'three');
    expect(Object.keys(run)).toEqual(expect.arrayContaining(RUN_KEYS));
    expect(run).toMatchObject({ job: 'three', attempt: 1, status: 'failed', reason: null, trigger: 'exec', exit_code: 3, signal: null });
    for (const time of [run.scheduled_at, run.started_at, run.ended_at]) expect(time).toMatch(ISO_UTC);
    expect(run.pid).toBeGreaterThan(0);

    const logs = await p.cli(['logs', 'three', '--run', run.id, '-t']);
    expect(logs.stdout.trimEnd().split('\n').map((line) => line.split(' ').slice(1).join(' ')).sort()).toEqual(['e to-stderr', 'o to-stdout']);

    expect(await p.cli(['exec', '--job', 'three', '--', 'true'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await lastRun(p, 'three')).toMatchObject({ status: 'succeeded', exit_code: 0, trigger: 'exec' });
  });

  it('--timeout 500ms on a hanging tree: exit 124, run timed_out, every process of the tree gone', async () => {
    // kill_grace comes from the configured job; the tree has two children that ignore SIGTERM (one left the group).
    const p = await makeProject('jobs:\n  hang: { command: "true", kill_grace: 500ms }\n');
    const result = await p.cli(['exec', '--job', 'hang', '--timeout', '500ms', '--', join(FIXTURES, 'tree-hang.sh')]);
    expect(result.code).toBe(124);
    // The whole tree was up, and both children outlived the SIGTERM (they needed the SIGKILL after kill_grace).
    for (const line of ['ingroup ready', 'setsid ready', '\nready\n']) expect(result.stdout).toContain(line);
    expect(result.stdout).toMatch(/setsid \d+: ignoring SIGTERM/);
    expect(result.stderr).toMatch(/nightshift: hang timed out after 500ms; its process tree was killed\n$/);

    const pids = ['parent', 'ingroup', 'setsid'].map((name) => Number(readFileSync(join(p.dir, `${name}.pid`), 'utf8')));
    for (const pid of pids) expect(isGone(pid), `pid ${pid}`).toBe(true);
    const run = await lastRun(p, 'hang');
    expect(run).toMatchObject({ status: 'timed_out', reason: 'timeout', trigger: 'exec', exit_code: null });
    expect(run.duration_ms).toBeGreaterThanOrEqual(500);
    expect(await host.markedPids(run.id)).toEqual([]);
  });

  it("a configured NAME brings its settings (its timeout); an unconfigured NAME runs on defaults, recorded under it", async () => {
    const p = await makeProject('jobs:\n  short: { command: "true", timeout: 500ms, kill_grace: 500ms }\n');
    const timedOut = await p.cli(['exec', '--job', 'short', '--', 'sleep', '30']);
    expect(timedOut.code).toBe(124);
    expect(timedOut.stderr).toBe('nightshift: short timed out after 500ms; its process tree was killed\n');
    expect(await lastRun(p, 'short')).toMatchObject({ status: 'timed_out', reason: 'timeout' });

    const adhoc = await p.cli(['exec', '--job', 'adhoc.job-1', '--', 'sh', '-c', 'echo adhoc']);
    expect(adhoc).toEqual({ code: 0, stdout: 'adhoc\n', stderr: '' });
    const [run] = await p.runs('adhoc.job-1');
    expect(run).toMatchObject({ job: 'adhoc.job-1', status: 'succeeded', trigger: 'exec', exit_code: 0 });
  });

  it('honours after: a stale upstream runs the command degraded (NIGHTSHIFT_DEGRADED=1), or skips it with on_stale: skip', async () => {
    const p = await makeProject(`jobs:
  scan: { command: "true" }
  writer: { command: "true", after: { job: scan, max_age: 1h, on_stale: degrade } }
  poster: { command: "true", after: { job: scan, max_age: 1h, on_stale: skip } }
`);
    const degraded = await p.cli(['exec', '--job', 'writer', '--', 'sh', '-c', 'echo "degraded=$NIGHTSHIFT_DEGRADED"']);
    expect(degraded).toEqual({ code: 0, stdout: 'degraded=1\n', stderr: '' });
    expect(await lastRun(p, 'writer')).toMatchObject({ status: 'succeeded', degraded: 'upstream scan has never succeeded (max_age 1h)' });

    const skipped = await p.cli(['exec', '--job', 'poster', '--', 'sh', '-c', 'echo ran']);
    expect(skipped).toEqual({ code: 0, stdout: '', stderr: 'nightshift: poster was skipped and recorded: upstream scan has never succeeded (max_age 1h)\n' });
    expect(await lastRun(p, 'poster')).toMatchObject({ status: 'skipped', reason: 'upstream_stale' });

    // Once the upstream has succeeded, both run normally.
    expect((await p.cli(['exec', '--job', 'scan', '--', 'true'])).code).toBe(0);
    const fresh = await p.cli(['exec', '--job', 'poster', '--', 'sh', '-c', 'echo "ran degraded=$NIGHTSHIFT_DEGRADED"']);
    expect(fresh).toEqual({ code: 0, stdout: 'ran degraded=\n', stderr: '' });
    expect(await lastRun(p, 'poster')).toMatchObject({ status: 'succeeded', degraded: null });
  });

  it('works without any config: the run goes to ./.nightshift (mode 0700) in the working directory', async () => {
    const dir = makeTempDir();
    onCleanup(() => killLeftoverRuns(join(dir, '.nightshift')));
    const result = await runCli(['exec', '--job', 'cronjob', '--', 'sh', '-c', 'echo from cron'], { cwd: dir, env: { NIGHTSHIFT_CONFIG: undefined } });
    expect(result).toEqual({ code: 0, stdout: 'from cron\n', stderr: '' });
    expect(statSync(join(dir, '.nightshift')).mode & 0o777).toBe(0o700);
    const store = await openStore({ kind: 'sqlite', path: join(dir, '.nightshift', 'state.db') });
    onCleanup(() => store.close());
    await store.migrate();
    expect(await store.listRuns({ job: 'cronjob' })).toMatchObject([{ status: 'succeeded', trigger: 'exec' }]);
  });

  it('usage: --timeout abc and a bad job name are exit 2 naming the flag; nothing is recorded', async () => {
    const p = await makeProject('jobs:\n  j: { command: "true" }\n');
    expect(await p.cli(['exec', '--job', 'j', '--timeout', 'abc', '--', 'true'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "nightshift: --timeout 'abc' is not a duration: write it like 500ms, 30s, 10m, 2h or 1d\n",
    });
    const badName = await p.cli(['exec', '--job', 'no/slash', '--', 'true']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toBe("nightshift: --job 'no/slash' is not a valid job name: use letters, digits, '.', '_' and '-'\n");
    expect(await p.runs('j')).toEqual([]);
  });

  it('--timeout 0s is refused like a zero timeout in the config (exit 2 naming --timeout)', async () => {
    const p = await makeProject('jobs:\n  j: { command: "true" }\n');
    const result = await p.cli(['exec', '--job', 'j', '--timeout', '0s', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--timeout');
  });

  it('a command that does not exist: exit 127, a message naming it, a failed run with reason start_failed', async () => {
    const p = await makeProject('jobs:\n  j: { command: "true" }\n');
    const result = await p.cli(['exec', '--job', 'j', '--', 'no-such-command-xyz', '--flag']);
    expect(result.code).toBe(127);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^nightshift: spawn no-such-command-xyz ENOENT: command 'no-such-command-xyz' not found on PATH \(cwd .*, PATH=.*\)\n$/);
    const run = await lastRun(p, 'j');
    expect(run).toMatchObject({ status: 'failed', reason: 'start_failed', trigger: 'exec' });
    expect(run.error).toContain('no-such-command-xyz');
  });

  it('SIGTERM to exec (cron or systemd stopping it) kills the whole tree: exit 143, run killed', async () => {
    const p = await makeProject('jobs:\n  j: { command: "true", kill_grace: 500ms }\n');
    const exec = p.start(['exec', '--job', 'j', '--', 'sh', '-c', 'echo started; sleep 30; echo never']);
    await waitFor(() => exec.stdout().includes('started'), 10_000, 'the command to start');
    const run = await runningRun(p, 'j');
    exec.child.kill('SIGTERM');
    const result = await finished(exec, 10_000, 'exec after SIGTERM');
    expect(result.code).toBe(143);
    expect(result.stderr).toBe('nightshift: j was stopped (SIGTERM); its process tree was killed\n');
    expect(isGone(run.pid)).toBe(true);
    expect(await host.markedPids(run.id)).toEqual([]);
    expect(await lastRun(p, 'j')).toMatchObject({ id: run.id, status: 'killed' });
  });
});

describe('nightshift exec --lock', () => {
  it('a second exec while the first runs: exit 0 at once, one line on stderr, a skipped run with reason overlap', async () => {
    const p = await makeProject('jobs:\n  lk: { command: "true" }\n');
    const gate = join(p.dir, 'gate');
    const first = p.start(['exec', '--job', 'lk', '--lock', '--', 'sh', '-c', gatedScript(gate, 'echo first-done')]);
    await waitFor(() => first.stdout().includes('started'), 10_000, 'the first exec to start');
    const holder = await runningRun(p, 'lk');

    const second = await p.cli(['exec', '--job', 'lk', '--lock', '--', 'echo', 'second']);
    expect(second).toEqual({ code: 0, stdout: '', stderr: skippedLine('lk', holder.id, first.child.pid!) });
    const [skipped, running] = parseJson<Run[]>(await p.cli(['history', 'lk', '--json', '--limit', '2']));
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'overlap', trigger: 'exec', started_at: null, exit_code: null });
    expect(running).toMatchObject({ id: holder.id, status: 'running' });

    // Without --lock a run is only recorded: it does not wait for, or skip because of, the lock.
    expect(await p.cli(['exec', '--job', 'lk', '--', 'echo', 'parallel'])).toEqual({ code: 0, stdout: 'parallel\n', stderr: '' });

    writeFileSync(gate, '');
    expect(await finished(first, 10_000, 'the first exec')).toEqual({ code: 0, stdout: 'started\nfirst-done\n', stderr: '' });
  });

  it('a holder killed with SIGKILL: the lock stays held while its orphaned child lives, and is reclaimed once it is gone', async () => {
    const p = await makeProject('jobs:\n  lk: { command: "true" }\n');
    const first = p.start(['exec', '--job', 'lk', '--lock', '--', 'sh', '-c', 'echo started; exec sleep 30']);
    await waitFor(() => first.stdout().includes('started'), 10_000, 'the first exec to start');
    const orphan = await runningRun(p, 'lk');
    first.child.kill('SIGKILL');
    await finished(first, 5_000, 'the SIGKILLed exec');
    expect(isGone(orphan.pid)).toBe(false);

    // Holder dead, but a process carrying its run's marker lives: a second copy must not start beside it.
    const whileOrphaned = await p.cli(['exec', '--job', 'lk', '--lock', '--', 'echo', 'second']);
    expect(whileOrphaned).toEqual({ code: 0, stdout: '', stderr: skippedLine('lk', orphan.id, first.child.pid!) });
    expect(await lastRun(p, 'lk')).toMatchObject({ status: 'skipped', reason: 'overlap' });

    process.kill(orphan.pid, 'SIGKILL');
    await waitFor(() => isGone(orphan.pid), 5_000, 'the orphan to die');
    const reclaimed = await p.cli(['exec', '--job', 'lk', '--lock', '--', 'echo', 'third']);
    expect(reclaimed).toEqual({ code: 0, stdout: 'third\n', stderr: '' });
    expect(await lastRun(p, 'lk')).toMatchObject({ status: 'succeeded', trigger: 'exec' });
  });

  it("reclaiming a dead holder's lock ends the dead holder's run, so status no longer shows the job running", async () => {
    const p = await makeProject('jobs:\n  lk: { command: "true" }\n');
    const first = p.start(['exec', '--job', 'lk', '--lock', '--', 'sh', '-c', 'echo started; exec sleep 30']);
    await waitFor(() => first.stdout().includes('started'), 10_000, 'the first exec to start');
    const dead = await runningRun(p, 'lk');
    first.child.kill('SIGKILL');
    await finished(first, 5_000, 'the SIGKILLed exec');
    process.kill(dead.pid, 'SIGKILL');
    await waitFor(() => isGone(dead.pid), 5_000, 'the orphan to die');
    expect((await p.cli(['exec', '--job', 'lk', '--lock', '--', 'true'])).code).toBe(0);

    const runs = await p.runs('lk');
    expect(runs.find((r) => r.id === dead.id)?.status).not.toBe('running');
    expect(parseJson(await p.cli(['status', '--json'])).jobs[0]).toMatchObject({ name: 'lk', state: 'idle' });
  });
});

describe('nightshift exec and the daemon', () => {
  it('takes the same job lock as the daemon, in both directions', async () => {
    const p = await makeProject('jobs:\n  slow: { command: "sleep 30", kill_grace: 500ms }\n');
    const daemon = await startDaemon(p);

    // exec holds the lock: the daemon's manual start is recorded as skipped (overlap), so run --wait exits 1.
    const gate = join(p.dir, 'gate');
    const exec = p.start(['exec', '--job', 'slow', '--lock', '--', 'sh', '-c', gatedScript(gate)]);
    await waitFor(() => exec.stdout().includes('started'), 10_000, 'exec to start');
    const manual = await p.cli(['run', 'slow', '--wait', '--json']);
    expect(manual.code).toBe(1);
    expect(parseJson<Run>(manual)).toMatchObject({ status: 'skipped', reason: 'overlap', trigger: 'manual' });
    writeFileSync(gate, '');
    expect((await finished(exec, 10_000, 'the exec run')).code).toBe(0);

    // The daemon's run holds the lock: exec --lock is skipped.
    const started = await p.cli(['run', 'slow']);
    expect(started.code).toBe(0);
    const daemonRun = await runningRun(p, 'slow');
    const skipped = await p.cli(['exec', '--lock', '--job', 'slow', '--', 'echo', 'should-not-run']);
    expect(skipped).toEqual({ code: 0, stdout: '', stderr: skippedLine('slow', daemonRun.id, daemon.child.pid!) });
    expect(await lastRun(p, 'slow')).toMatchObject({ status: 'skipped', reason: 'overlap', trigger: 'exec' });
  }, DAEMON_TEST_TIMEOUT_MS);

  it('starting the daemon leaves a running exec (without --lock) alone', async () => {
    const p = await makeProject('jobs:\n  cron: { command: "true" }\n');
    const gate = join(p.dir, 'gate');
    const exec = p.start(['exec', '--job', 'cron', '--', 'sh', '-c', gatedScript(gate)]);
    await waitFor(() => exec.stdout().includes('started'), 10_000, 'exec to start');
    const run = await runningRun(p, 'cron');
    await startDaemon(p);
    expect(isGone(run.pid)).toBe(false);
    writeFileSync(gate, '');
    expect(await finished(exec, 10_000, 'the exec run')).toEqual({ code: 0, stdout: 'started\ndone\n', stderr: '' });
    expect(await lastRun(p, 'cron')).toMatchObject({ id: run.id, status: 'succeeded' });
  }, DAEMON_TEST_TIMEOUT_MS);

  it('exec with NIGHTSHIFT_CONFIG naming a missing file is exit 2 naming it (as with -c)', async () => {
    const dir = makeTempDir();
    onCleanup(() => killLeftoverRuns(join(dir, '.nightshift')));
    const missing = join(dir, 'typo.yaml');
    const result = await runCli(['exec', '--job', 'j', '--', 'true'], { cwd: dir, env: { NIGHTSHIFT_CONFIG: missing } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${missing}: no such file (named by NIGHTSHIFT_CONFIG)`);
    expect(existsSync(join(dir, '.nightshift'))).toBe(false);
  });
});
