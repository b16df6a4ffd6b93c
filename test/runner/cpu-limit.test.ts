/**
 * `cpu:` with a real busy process, where this host has a cpu controller nightshift may use (cgroup v2, or a v1
 * hierarchy on hybrid hosts): the quota is in the run's cgroup while it runs, and the kernel throttles the run to
 * it. Skipped, with detectRunLimits' reason, where the host has none; the run then reports the quota as not enforced
 * (tested without cgroups below, and with a fixture cgroup v2 in cgroup-limits.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { detectRunCgroups, type RunCgroups } from '../../src/runner/cgroup.ts';
import { detectRunLimits, type RunLimitSupport } from '../../src/runner/cgroup-limits.ts';
import { runProcess } from '../../src/runner/spawn-run.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Janitor, makeSpec, removeTestCgroups, sh } from './helpers.ts';

const TEST_DIR_NAME = `nightshift-runs-cpu-${process.pid}`;
const v2: RunCgroups | null = await detectRunCgroups({ dirName: TEST_DIR_NAME });
const support: RunLimitSupport = await detectRunLimits({ cgroups: v2, v1DirName: TEST_DIR_NAME });
const SKIPPED = `SKIPPED: no cpu controller for run cgroups here (${support.notes.join('; ')})`;
if (support.cpu === null) console.warn(`test/runner/cpu-limit.test.ts: real cpu quota test ${SKIPPED}`);

const janitor = new Janitor();
afterEach(() => janitor.cleanup());
afterAll(async () => {
  for (const cgroups of [v2, support.v1Memory, support.v1Cpu]) if (cgroups) await removeTestCgroups(cgroups);
});

/** Where the run's quota is, and how to read it back in cpu.max's form. */
function quotaOf(runId: string): { path: string; read: () => string; throttled: () => number } {
  const version = support.cpu === 'cgroup v2' ? 2 : 1;
  const base = version === 2 ? (v2 as RunCgroups).base : (support.v1Cpu as RunCgroups).base;
  const path = join(base, `run-${runId}`);
  const file = (name: string): string => readFileSync(join(path, name), 'utf8').trim();
  return {
    path,
    read: () => (version === 2 ? file('cpu.max') : `${file('cpu.cfs_quota_us')} ${file('cpu.cfs_period_us')}`),
    throttled: () => Number(/^nr_throttled (\d+)$/m.exec(file('cpu.stat'))?.[1] ?? 0),
  };
}

describe(support.cpu === null ? `cpu quota (${SKIPPED})` : `cpu quota by ${support.cpu}`, () => {
  it.skipIf(support.cpu === null)('cpu: 50% is in the run’s cgroup while it runs, and the kernel throttles it', async () => {
    const spec = janitor.track(makeSpec(sh('while :; do :; done'), { cpuPercent: 50, killGraceMs: 200 }));
    const stop = new AbortController();
    const running = runProcess(spec, { cgroups: v2, limits: support, signal: stop.signal });
    const quota = quotaOf(spec.runId);
    await waitFor(() => readFileSync(join(quota.path, 'cgroup.procs'), 'utf8').trim() !== '', 5000, 'the run in its cgroup');
    expect(quota.read()).toBe('50000 100000'); // 50 ms of CPU per 100 ms period
    // A busy loop wants all of a CPU; held to half, it is throttled in its first periods.
    await waitFor(() => quota.throttled() > 0, 5000, 'the kernel to throttle the run');
    stop.abort('test over');
    const result = await running;
    expect(result.cpu).toEqual({ percent: 50, enforced: true, cgroupVersion: support.cpu === 'cgroup v2' ? 2 : 1 });
    expect(result.memory).toBeNull();
  });
});

describe('cpu quota without a cgroup', () => {
  it('is reported as not enforced, and the run is otherwise untouched', async () => {
    const spec = janitor.track(makeSpec(sh('exit 0'), { cpuPercent: 200 }));
    const result = await runProcess(spec, {});
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0 });
    expect(result.cpu).toEqual({ percent: 200, enforced: false, cgroupVersion: null });
  });
});
