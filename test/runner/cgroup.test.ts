/**
 * Run cgroups (cgroup v2): detection against fixture /proc trees, and the kill with a real cgroup where this host has
 * a writable one. The case they exist for: a grandchild that left the process group AND cleared its environment
 * (test/fixtures/escape-env.sh) — with a cgroup the deadline kills it; without one it survives, unseen.
 *
 * The real-cgroup tests use a directory of their own (`nightshift-runs-test-<pid>` under this process's cgroup), so
 * they never touch a daemon's `nightshift-runs`, and remove it afterwards. Every process a test started is killed by
 * pid in afterEach (PID-reuse safe: only while its start time matches), every cgroup it made is emptied and removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import {
  cgroupDirOf,
  detectRunCgroups,
  parseCgroup2Mounts,
  parseOwnCgroup,
  type RunCgroup,
  type RunCgroups,
} from '../../src/runner/cgroup.ts';
import { ORPHAN_GRACE_CAP_MS, runProcess } from '../../src/runner/spawn-run.ts';
import { waitFor } from '../helpers/wait-for.ts';
import {
  Janitor,
  MemorySink,
  argv,
  baseEnv,
  fixture,
  isAlive,
  makeSpec,
  proc,
  readPids,
  removeTestCgroups,
  sh,
} from './helpers.ts';

const TEST_DIR_NAME = `nightshift-runs-test-${process.pid}`;
const realCgroups: RunCgroups | null = await detectRunCgroups({ dirName: TEST_DIR_NAME });
const cgroupsAvailable = realCgroups !== null;
const SKIPPED = 'SKIPPED: no writable cgroup v2 on this host (detectRunCgroups returned null)';
if (!cgroupsAvailable) console.warn(`test/runner/cgroup.test.ts: real-cgroup tests ${SKIPPED}`);
/** Only inside `it.skipIf(!cgroupsAvailable)`. */
const cgroups = (): RunCgroups => realCgroups as RunCgroups;

const janitor = new Janitor();
/** Processes without the run marker (the escaped grandchildren, test-spawned sleeps): killed by pid + start time. */
const strays: { pid: number; startTime: number }[] = [];
const children: ChildProcess[] = [];
const madeCgroups: RunCgroup[] = [];

afterEach(async () => {
  for (const { pid, startTime } of strays.splice(0)) {
    if (await proc.isSameProcessAlive(pid, startTime)) process.kill(pid, 'SIGKILL');
  }
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await janitor.cleanup();
  for (const cgroup of madeCgroups.splice(0)) {
    await cgroup.kill();
    await waitFor(async () => (await cgroup.pids()).length === 0, 2000, `${cgroup.path} to empty`);
    await cgroup.remove();
  }
});

afterAll(async () => {
  if (realCgroups) await removeTestCgroups(realCgroups);
});

/** Records a stray pid (read from a pidfile) with its start time, so afterEach can kill it safely. */
async function trackStray(pid: number): Promise<number> {
  const startTime = await proc.pidStartTime(pid);
  if (startTime !== null) strays.push({ pid, startTime });
  return pid;
}

function escapeSpec(args: string[] = [], overrides: Parameters<typeof makeSpec>[1] = {}) {
  const pidDir = janitor.tempDir('ns-pids-');
  const command = argv(fixture('escape-env.sh'), ...args);
  const spec = janitor.track(makeSpec(command, { env: baseEnv({ PIDFILE_DIR: pidDir }), ...overrides }));
  const escaped = waitFor(() => readPids(pidDir).escaped, 5000, 'the escaped grandchild').then(trackStray);
  return { spec, pidDir, escaped, sink: spec.output as MemorySink };
}

const runCgroupPath = (runId: string): string => join(cgroups().base, `run-${runId}`);
const inRunCgroup = (pid: number, runId: string): boolean =>
  readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/${TEST_DIR_NAME}/run-${runId}\n`);

function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return child as ChildProcess & { pid: number };
}

describe(cgroupsAvailable ? 'with a real cgroup' : `with a real cgroup (${SKIPPED})`, () => {
  it.skipIf(!cgroupsAvailable)('a deadline kills a grandchild that left the group and cleared its environment', async () => {
    const timeoutMs = 1500;
    const killGraceMs = 500;
    const { spec, pidDir, escaped, sink } = escapeSpec([], { timeoutMs, killGraceMs });
    const running = runProcess(spec, { cgroups: cgroups() });
    const pid = await escaped;
    // Neither marker nor process group can find it; only the cgroup holds it.
    expect(await proc.hasMarker(pid, spec.runId)).toBe(false);
    expect((await proc.readStat(pid))?.pgid).toBe(pid);
    await waitFor(() => inRunCgroup(pid, spec.runId), 2000, `${pid} to be in the run cgroup`);

    const result = await running;
    expect(result).toMatchObject({ endedBy: 'timed_out', survivors: 0, exitCode: null, signal: 'SIGTERM' });
    expect(sink.text('out')).toContain('ready');
    expect(await isAlive(pid), `escaped grandchild ${pid} is still alive`).toBe(false); // a zombie counts as gone
    expect(await isAlive(readPids(pidDir).parent as number)).toBe(false);
    // It ignored SIGTERM, so it waited out the grace, then cgroup.kill: within the usual bound, and the pipe it
    // held closed with it (no 1 s drain).
    expect(result.durationMs).toBeLessThan(timeoutMs + killGraceMs + 1000);
    expect(existsSync(runCgroupPath(spec.runId)), 'the run cgroup was removed').toBe(false);
  });

  it.skipIf(!cgroupsAvailable)('kills and counts such a grandchild as an orphan when the main process exits', async () => {
    const { spec, escaped } = escapeSpec(['exit'], { killGraceMs: 300 });
    const running = runProcess(spec, { cgroups: cgroups() });
    const pid = await escaped;
    const result = await running;
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0, survivors: 0 });
    expect(result.orphansKilled).toBeGreaterThanOrEqual(1);
    expect(result.durationMs).toBeLessThan(ORPHAN_GRACE_CAP_MS + 2000);
    expect(await isAlive(pid)).toBe(false);
    expect(existsSync(runCgroupPath(spec.runId))).toBe(false);
  });

  it.skipIf(!cgroupsAvailable)('also moves in a grandchild forked before the main process was moved (the race)', async () => {
    // escape-env.sh forks on its first lines, often while the write of its own pid is still in flight (about 1 ms):
    // that grandchild is born outside. adoptDescendants must move it in every time.
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const { spec, escaped } = escapeSpec([], { killGraceMs: 200 });
      const running = runProcess(spec, { cgroups: cgroups(), signal: ac.signal });
      const pid = await escaped;
      await waitFor(() => inRunCgroup(pid, spec.runId), 2000, `attempt ${i + 1}: ${pid} to be moved in`);
      ac.abort('test');
      expect(await running).toMatchObject({ endedBy: 'cancelled', survivors: 0 });
      expect(await isAlive(pid)).toBe(false);
    }
  });

  it.skipIf(!cgroupsAvailable)('moves the child in before onSpawn, and removes the cgroup when the run ends', async () => {
    const spec = janitor.track(makeSpec(sh('sleep 0.1')));
    let seen = '';
    const result = await runProcess(spec, {
      cgroups: cgroups(),
      onSpawn: (pid) => (seen = readFileSync(`/proc/${pid}/cgroup`, 'utf8')),
    });
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0, orphansKilled: 0, survivors: 0 });
    expect(seen).toContain(`/${TEST_DIR_NAME}/run-${spec.runId}\n`);
    expect(existsSync(runCgroupPath(spec.runId))).toBe(false);
  });

  it.skipIf(!cgroupsAvailable)('keeps start_failed for a missing command (no shell shim) and removes the cgroup', async () => {
    const spec = janitor.track(makeSpec(argv('nightshift-no-such-command')));
    const result = await runProcess(spec, { cgroups: cgroups() });
    expect(result.endedBy).toBe('start_failed');
    expect(result.startError).toMatch(/ENOENT/);
    expect(existsSync(runCgroupPath(spec.runId))).toBe(false);
  });

  it.skipIf(!cgroupsAvailable)('kills a whole ordinary tree the same way with a cgroup', async () => {
    const pidDir = janitor.tempDir('ns-pids-');
    const spec = janitor.track(
      makeSpec(argv(fixture('tree-hang.sh')), { env: baseEnv({ PIDFILE_DIR: pidDir }), timeoutMs: 1000, killGraceMs: 300 }),
    );
    const result = await runProcess(spec, { cgroups: cgroups() });
    expect(result).toMatchObject({ endedBy: 'timed_out', survivors: 0 });
    const pids = readPids(pidDir);
    expect(Object.keys(pids).sort()).toEqual(['ingroup', 'parent', 'setsid']);
    for (const [name, pid] of Object.entries(pids)) expect(await isAlive(pid), `${name} ${pid}`).toBe(false);
    expect(existsSync(runCgroupPath(spec.runId))).toBe(false);
  });

  it.skipIf(!cgroupsAvailable)('adopt, pids, kill (cgroup.kill) and remove', async () => {
    const cgroup = cgroups().forRun('01TESTKILLREMOVE') as RunCgroup;
    madeCgroups.push(cgroup);
    const child = sleeper();
    expect(cgroup.adopt(child.pid)).toBe(true);
    expect(await cgroup.pids()).toEqual([child.pid]);
    expect(await cgroup.remove()).toBe(false); // it has a member
    await cgroup.kill();
    await waitFor(async () => !(await isAlive(child.pid)), 2000, 'the member to die');
    await waitFor(async () => (await cgroup.pids()).length === 0, 2000, 'the cgroup to empty');
    expect(await cgroup.remove()).toBe(true);
    expect(existsSync(cgroup.path)).toBe(false);
  });

  it.skipIf(!cgroupsAvailable)('sweepEmpty removes old empty run cgroups, not fresh or busy ones', async () => {
    const old = cgroups().forRun('01TESTSWEEPOLD') as RunCgroup;
    const fresh = cgroups().forRun('01TESTSWEEPFRESH') as RunCgroup;
    const busy = cgroups().forRun('01TESTSWEEPBUSY') as RunCgroup;
    madeCgroups.push(old, fresh, busy);
    expect(busy.adopt(sleeper().pid)).toBe(true);
    const longAgo = new Date(Date.now() - 3_600_000);
    for (const c of [old, busy]) utimesSync(c.path, longAgo, longAgo); // as a daemon killed with -9 an hour ago left them
    expect(await cgroups().sweepEmpty()).toBe(1);
    expect(existsSync(old.path)).toBe(false);
    expect(existsSync(fresh.path)).toBe(true);
    expect(existsSync(busy.path)).toBe(true);
  });
});

describe('without cgroups', () => {
  it('documents the gap: the escaped grandchild outlives a deadline kill, unseen (cleanup kills it by pid)', async () => {
    const { spec, escaped } = escapeSpec([], { timeoutMs: 800, killGraceMs: 300 });
    const running = runProcess(spec, { cgroups: null });
    const pid = await escaped;
    const result = await running;
    // The run reports a clean kill: the process is not merely a survivor, it was never found.
    expect(result).toMatchObject({ endedBy: 'timed_out', survivors: 0 });
    expect(await isAlive(pid), 'without a cgroup nothing can find it').toBe(true);
  });
});

/** A fixture tree: <root>/proc/self/{mountinfo,cgroup}, and cgroup directories under <root>/sys/fs/cgroup. */
function procTree(mountinfo: (root: string) => string, cgroup: string): { root: string; procRoot: string } {
  const root = janitor.tempDir('ns-cgroup-fixture-');
  const procRoot = join(root, 'proc');
  mkdirSync(join(procRoot, 'self'), { recursive: true });
  writeFileSync(join(procRoot, 'self', 'mountinfo'), mountinfo(root));
  writeFileSync(join(procRoot, 'self', 'cgroup'), cgroup);
  return { root, procRoot };
}

/** Makes a fake cgroup directory with its cgroup.procs, as the kernel shows one. */
function fakeCgroupDir(path: string): void {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'cgroup.procs'), '');
}

const V1_LINES = (root: string) =>
  `31 23 0:28 / ${root}/sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / ${root}/sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / ${root}/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / ${root}/sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
`;

describe('detectRunCgroups on fixture trees', () => {
  it('unified mode: <mount>/<own cgroup>/nightshift-runs, e.g. under a delegated systemd unit', async () => {
    const { root, procRoot } = procTree(
      (r) => `22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:26 / ${r}/sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`,
      '0::/system.slice/nightshift.service\n',
    );
    const own = join(root, 'sys/fs/cgroup/system.slice/nightshift.service');
    fakeCgroupDir(own);
    const found = await detectRunCgroups({ procRoot });
    expect(found?.base).toBe(join(own, 'nightshift-runs'));
    expect(existsSync(join(own, 'nightshift-runs'))).toBe(true);
  });

  it('hybrid mode: cgroup2 at /sys/fs/cgroup/unified beside the v1 hierarchies', async () => {
    const { root, procRoot } = procTree(
      (r) => `${V1_LINES(r)}41 31 0:38 / ${r}/sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n`,
      '9:name=systemd:/\n4:memory:/process_api/8cde\n1:cpu:/\n0::/\n',
    );
    fakeCgroupDir(join(root, 'sys/fs/cgroup/unified'));
    const found = await detectRunCgroups({ procRoot });
    expect(found?.base).toBe(join(root, 'sys/fs/cgroup/unified/nightshift-runs'));
  });

  it('null without a cgroup2 mount, without a 0:: line, or where the directory cannot be made', async () => {
    const v1Only = procTree(V1_LINES, '9:name=systemd:/\n1:cpu:/\n');
    expect(await detectRunCgroups({ procRoot: v1Only.procRoot })).toBeNull();

    const noOwnPath = procTree((r) => `41 31 0:38 / ${r}/sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n`, '1:cpu:/\n');
    fakeCgroupDir(join(noOwnPath.root, 'sys/fs/cgroup/unified'));
    expect(await detectRunCgroups({ procRoot: noOwnPath.procRoot })).toBeNull();

    // The mount point exists in mountinfo but our cgroup's directory does not (ENOENT), like an unwritable one.
    const missing = procTree((r) => `30 22 0:26 / ${r}/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`, '0::/user.slice\n');
    expect(await detectRunCgroups({ procRoot: missing.procRoot })).toBeNull();

    expect(await detectRunCgroups({ procRoot: join(missing.root, 'no-such-proc') })).toBeNull();
  });

  it('sweeps empty run cgroups a killed daemon left, keeping fresh and non-empty ones', async () => {
    const { root, procRoot } = procTree((r) => `30 22 0:26 / ${r}/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`, '0::/\n');
    const base = join(root, 'sys/fs/cgroup/nightshift-runs');
    fakeCgroupDir(join(root, 'sys/fs/cgroup'));
    for (const name of ['run-OLD', 'run-FRESH', 'run-BUSY', 'not-a-run']) mkdirSync(join(base, name), { recursive: true });
    writeFileSync(join(base, 'run-BUSY', 'member'), ''); // a plain directory with content cannot be removed, like a busy cgroup
    const longAgo = new Date(Date.now() - 3_600_000);
    for (const name of ['run-OLD', 'run-BUSY', 'not-a-run']) utimesSync(join(base, name), longAgo, longAgo);
    expect(await detectRunCgroups({ procRoot })).not.toBeNull();
    expect(existsSync(join(base, 'run-OLD'))).toBe(false);
    expect(existsSync(join(base, 'run-FRESH'))).toBe(true);
    expect(existsSync(join(base, 'run-BUSY'))).toBe(true);
    expect(existsSync(join(base, 'not-a-run'))).toBe(true);
  });

  it('kill() falls back to SIGKILL of each member where there is no cgroup.kill (Linux before 5.14)', async () => {
    const { root, procRoot } = procTree((r) => `30 22 0:26 / ${r}/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`, '0::/\n');
    fakeCgroupDir(join(root, 'sys/fs/cgroup'));
    const found = (await detectRunCgroups({ procRoot })) as RunCgroups;
    const cgroup = found.forRun('01TESTFALLBACK') as RunCgroup;
    const child = sleeper();
    writeFileSync(join(cgroup.path, 'cgroup.procs'), `${child.pid}\n`);
    expect(await cgroup.pids()).toEqual([child.pid]);
    await cgroup.kill();
    await waitFor(async () => !(await isAlive(child.pid)), 2000, 'the member to die');
    expect(existsSync(join(cgroup.path, 'cgroup.kill')), 'no cgroup.kill was created').toBe(false);
  });

  it('a failed adoption is logged and not fatal: the run goes on by marker and group', async () => {
    const { root, procRoot } = procTree((r) => `30 22 0:26 / ${r}/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`, '0::/\n');
    fakeCgroupDir(join(root, 'sys/fs/cgroup'));
    const warnings: unknown[][] = [];
    const logger = { debug: () => {}, warn: (...args: unknown[]) => void warnings.push(args) };
    const found = (await detectRunCgroups({ procRoot, logger })) as RunCgroups;
    // The run directory of a fixture tree is a plain directory without cgroup.procs: the move fails with ENOENT.
    const spec = janitor.track(makeSpec(sh('echo hi')));
    const result = await runProcess(spec, { cgroups: found });
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0, survivors: 0 });
    expect((spec.output as MemorySink).text('out')).toBe('hi\n');
    expect(warnings.map((w) => w[1])).toEqual(['cannot move the run into its cgroup: marker only']);
    expect(existsSync(join(found.base, `run-${spec.runId}`))).toBe(false);
  });
});

describe('parsing', () => {
  it('reads cgroup2 mounts from mountinfo, unescaping octal escapes', () => {
    const text = `30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
31 22 0:27 /a\\040b /mnt/with\\040space rw shared:9 - cgroup2 none rw
32 22 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
`;
    expect(parseCgroup2Mounts(text)).toEqual([
      { root: '/', mountPoint: '/sys/fs/cgroup' },
      { root: '/a b', mountPoint: '/mnt/with space' },
    ]);
  });

  it('reads the 0:: line, and maps our cgroup into a mount that shows a sub-tree', () => {
    expect(parseOwnCgroup('1:cpu:/\n0::/system.slice/x.service\n')).toBe('/system.slice/x.service');
    expect(parseOwnCgroup('1:cpu:/\n')).toBeNull();
    const mounts = [{ root: '/system.slice', mountPoint: '/c' }];
    expect(cgroupDirOf(mounts, '/system.slice/x.service')).toBe('/c/x.service');
    expect(cgroupDirOf(mounts, '/user.slice')).toBeNull();
    expect(cgroupDirOf([{ root: '/', mountPoint: '/sys/fs/cgroup' }, ...mounts], '/')).toBe('/sys/fs/cgroup');
    expect(cgroupDirOf([{ root: '/', mountPoint: '/sys/fs/cgroup/unified' }], '/a/b')).toBe('/sys/fs/cgroup/unified/a/b');
  });
});
