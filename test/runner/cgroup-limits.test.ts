/**
 * The cgroup side of `memory:` and `cpu:` against fixture trees, so every host runs it: which files a run cgroup
 * gets (cgroup v2: memory.max, memory.swap.max, memory.oom.group, cpu.max), how an OOM kill is read back, the
 * detection of v1 hierarchies and of usable v2 controllers, and the per-run fallback to RSS sampling.
 *
 * A fixture cgroup is a plain directory: the kernel's side (the OOM kill, memory.peak) is played by the test writing
 * the files the kernel would. The real kernel paths are test/runner/memory-limit.test.ts and cpu-limit.test.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { runCgroupsUnder, type RunCgroups } from '../../src/runner/cgroup.ts';
import {
  cpuQuotaUs,
  describeLimitSupport,
  detectRunLimits,
  enableController,
  unenforcedLimits,
} from '../../src/runner/cgroup-limits.ts';
import { detectV1RunCgroups, parseCgroupV1Mounts, parseOwnV1Cgroup } from '../../src/runner/cgroup-v1.ts';
import { runProcess } from '../../src/runner/spawn-run.ts';
import { endFromResult } from '../../src/scheduler/run-end.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Janitor, makeSpec, sh } from './helpers.ts';

const MB = 1024 * 1024;
const janitor = new Janitor();
afterEach(() => janitor.cleanup());

/** This machine's mountinfo, abridged: a hybrid host (cgroup2 with no controllers, memory and cpu on v1). */
const HYBRID_MOUNTINFO = [
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_CGROUP = ['9:name=systemd:/', '4:memory:/process_api/096be7', '2:cpuacct:/', '1:cpu:/', '0::/'].join('\n');

describe('cgroup v1 detection', () => {
  it('finds the hierarchy of each controller in mountinfo, and this process in it', () => {
    const mounts = parseCgroupV1Mounts(HYBRID_MOUNTINFO);
    expect(mounts.find((m) => m.controllers.includes('memory'))).toEqual({
      root: '/',
      mountPoint: '/sys/fs/cgroup/memory',
      controllers: ['memory'],
    });
    expect(mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/systemd')?.controllers).toEqual([]);
    expect(mounts.some((m) => m.mountPoint === '/sys/fs/cgroup/unified')).toBe(false); // cgroup2 is not v1
    expect(parseOwnV1Cgroup(HYBRID_CGROUP, 'memory')).toBe('/process_api/096be7');
    expect(parseOwnV1Cgroup('3:cpu,cpuacct:/system.slice/x.service\n', 'cpu')).toBe('/system.slice/x.service');
    expect(parseOwnV1Cgroup('0::/\n', 'memory')).toBeNull();
  });

  it('creates the run cgroups directory under this process’s cgroup of that hierarchy', async () => {
    const dir = janitor.tempDir('ns-v1-');
    const own = join(dir, 'memory', 'process_api', '096be7');
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, 'cgroup.procs'), '');
    const procRoot = join(dir, 'proc');
    mkdirSync(join(procRoot, 'self'), { recursive: true });
    // Every mount point inside the fixture: nothing here may touch the host's /sys/fs/cgroup.
    writeFileSync(join(procRoot, 'self', 'mountinfo'), HYBRID_MOUNTINFO.replaceAll('/sys/fs/cgroup', dir));
    writeFileSync(join(procRoot, 'self', 'cgroup'), HYBRID_CGROUP);
    const found = await detectV1RunCgroups('memory', { procRoot, dirName: 'runs' });
    expect(found?.base).toBe(join(own, 'runs'));
    expect(await detectV1RunCgroups('cpu', { procRoot, dirName: 'runs' })).toBeNull(); // <dir>/cpu does not exist
  });
});

/** A fake cgroup v2 tree: `<dir>/own` (the daemon's cgroup) and its `nightshift-runs`, controllers as given. */
async function fakeV2(controllers: string): Promise<{ cgroups: RunCgroups; own: string }> {
  const dir = janitor.tempDir('ns-v2-');
  const own = join(dir, 'own');
  mkdirSync(own);
  writeFileSync(join(own, 'cgroup.procs'), '');
  writeFileSync(join(own, 'cgroup.controllers'), controllers);
  const cgroups = (await runCgroupsUnder(own, { dirName: 'nightshift-runs' }, () => null)) as RunCgroups;
  writeFileSync(join(cgroups.base, 'cgroup.controllers'), controllers);
  writeFileSync(join(cgroups.base, 'cgroup.subtree_control'), controllers);
  return { cgroups, own };
}

/** The run's cgroup as the kernel would make it with memory and cpu enabled: the files exist, empty. */
function fakeRunCgroup(cgroups: RunCgroups, runId: string, files: string[]): string {
  const path = join(cgroups.base, `run-${runId}`);
  mkdirSync(path);
  for (const file of ['cgroup.procs', ...files]) writeFileSync(join(path, file), '');
  return path;
}

const V2_FILES = ['memory.max', 'memory.swap.max', 'memory.oom.group', 'cpu.max', 'memory.events', 'memory.peak'];

describe('cgroup v2 controllers', () => {
  it('are used where nightshift-runs has them; a host without them says why, once, in notes', async () => {
    const { cgroups } = await fakeV2('memory cpu');
    const support = await detectRunLimits({ cgroups, procRoot: '/nonexistent' });
    expect(support).toMatchObject({ memory: 'cgroup v2', cpu: 'cgroup v2', notes: [] });
    expect(describeLimitSupport(support)).toBe('memory limits: cgroup v2; cpu quotas: cgroup v2');

    const bare = await fakeV2('');
    expect(await enableController(bare.cgroups.base, 'memory')).toMatch(/cgroup v2 has no memory controller for .*own/);
    const none = await detectRunLimits({ cgroups: bare.cgroups, procRoot: '/nonexistent' });
    expect(none).toMatchObject({ memory: 'rss', cpu: null });
    expect(describeLimitSupport(none)).toMatch(/^memory limits: sampled RSS; cpu quotas: not enforced \(memory: cgroup v2 has no/);
    expect(none.notes).toEqual([
      expect.stringMatching(/^memory: cgroup v2 has no memory controller .*, and no writable cgroup v1 memory hierarchy$/),
      expect.stringMatching(/^cpu: cgroup v2 has no cpu controller .*, and no writable cgroup v1 cpu hierarchy$/),
    ]);
  });

  it('names the jobs whose cpu: cannot be enforced, for one warning', async () => {
    const jobs = [
      { name: 'a', cpuPercent: 50 },
      { name: 'b', cpuPercent: null },
    ];
    const bare = await detectRunLimits({ cgroups: (await fakeV2('')).cgroups, procRoot: '/nonexistent' });
    expect(unenforcedLimits(jobs, bare)).toEqual(['jobs.a.cpu']);
    const full = await detectRunLimits({ cgroups: (await fakeV2('memory cpu')).cgroups, procRoot: '/nonexistent' });
    expect(unenforcedLimits(jobs, full)).toEqual([]);
  });

  it('cpu: 50% is 50 ms per 100 ms; 200% is two CPUs; the kernel minimum is 1 ms', () => {
    expect(cpuQuotaUs(50, 100_000)).toBe(50_000);
    expect(cpuQuotaUs(200, 100_000)).toBe(200_000);
    expect(cpuQuotaUs(0.5, 100_000)).toBe(1000);
  });
});

describe('a run in a cgroup v2 with memory and cpu (fixture)', () => {
  it('gets memory.max, no swap, a group OOM kill and cpu.max before it runs; an OOM kill ends it for memory', async () => {
    const { cgroups } = await fakeV2('memory cpu');
    const limits = await detectRunLimits({ cgroups, procRoot: '/nonexistent' });
    const spec = janitor.track(makeSpec(sh('sleep 30'), { memoryBytes: 64 * MB, cpuPercent: 50, killGraceMs: 200 }));
    const path = fakeRunCgroup(cgroups, spec.runId, V2_FILES);
    const file = (name: string): string => readFileSync(join(path, name), 'utf8');
    const running = runProcess(spec, { cgroups, limits });
    await waitFor(() => file('cgroup.procs') !== '', 5000, 'the run to move into its cgroup');
    expect(file('memory.max')).toBe(String(64 * MB));
    expect(file('memory.swap.max')).toBe('0');
    expect(file('memory.oom.group')).toBe('1');
    expect(file('cpu.max')).toBe('50000 100000');
    // The kernel's part: the group hit memory.max and the OOM killer struck.
    writeFileSync(join(path, 'memory.peak'), String(64 * MB + 4096));
    writeFileSync(join(path, 'memory.events'), 'low 0\nhigh 0\nmax 41\noom 1\noom_kill 1\noom_group_kill 1\n');
    const result = await running;
    expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'memory', survivors: 0 });
    expect(result.memory).toEqual({
      limitBytes: 64 * MB,
      peakBytes: 64 * MB + 4096,
      via: 'cgroup',
      cgroupVersion: 2,
      exceeded: true,
      oomKills: 1,
    });
    expect(result.cpu).toEqual({ percent: 50, enforced: true, cgroupVersion: 2 });
    expect(result.durationMs).toBeLessThan(3000); // seen within one sample (500 ms), then the tree's kill_grace
    expect(endFromResult(result, new Date().toISOString())).toMatchObject({
      status: 'killed',
      reason: 'memory',
      error: 'memory limit 64M exceeded (peak 64M, cgroup v2 OOM kill)',
    });
  });

  it('a main process the OOM killer took looks like an exit by SIGKILL; it is recorded as killed for memory', async () => {
    const { cgroups } = await fakeV2('memory cpu');
    const limits = await detectRunLimits({ cgroups, procRoot: '/nonexistent' });
    const spec = janitor.track(makeSpec(sh('kill -KILL $$'), { memoryBytes: 64 * MB }));
    const path = fakeRunCgroup(cgroups, spec.runId, V2_FILES);
    writeFileSync(join(path, 'memory.events'), 'oom 1\noom_kill 1\n'); // before the guard's first look
    const result = await runProcess(spec, { cgroups, limits });
    expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'memory', signal: 'SIGKILL' });
    expect(result.memory).toMatchObject({ via: 'cgroup', exceeded: true, oomKills: 1 });
  });

  it('falls back to RSS sampling for a run whose cgroup has no memory.max, and reports cpu as not enforced', async () => {
    const { cgroups } = await fakeV2('memory cpu');
    const limits = await detectRunLimits({ cgroups, procRoot: '/nonexistent' });
    const spec = janitor.track(makeSpec(sh('exit 0'), { memoryBytes: 64 * MB, cpuPercent: 50 }));
    fakeRunCgroup(cgroups, spec.runId, []); // a cgroup without the controllers' files
    const result = await runProcess(spec, { cgroups, limits });
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0 });
    expect(result.memory).toMatchObject({ via: 'rss', cgroupVersion: null, exceeded: false });
    expect(result.cpu).toEqual({ percent: 50, enforced: false, cgroupVersion: null });
  });
});
