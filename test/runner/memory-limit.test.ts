/**
 * `memory:` on the whole tree, with real leaking processes (test/fixtures/leak.mjs, leaky-child.sh), on every path
 * this host offers: RSS sampling always (forced by passing no cgroups), and the kernel's OOM killer in a run cgroup
 * where a memory controller can be used — cgroup v2, or a v1 hierarchy (hybrid hosts). A path the host does not
 * offer is skipped with the reason detectRunLimits gave.
 *
 * Every leaker stops by itself at 1 GB and every run has a 20 s deadline, so a broken limit fails the test without
 * taking the machine down. The cgroups live under test-only directories (`nightshift-runs-limits-<pid>`), removed
 * afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { detectRunCgroups, type RunCgroups } from '../../src/runner/cgroup.ts';
import { detectRunLimits, type RunLimitSupport } from '../../src/runner/cgroup-limits.ts';
import { runProcess } from '../../src/runner/spawn-run.ts';
import type { RunResult, StartOptions } from '../../src/runner/types.ts';
import { endFromResult } from '../../src/scheduler/run-end.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Janitor, argv, baseEnv, fixture, isAlive, makeSpec, proc, readPids, removeTestCgroups, sh } from './helpers.ts';

const MB = 1024 * 1024;
const TEST_DIR_NAME = `nightshift-runs-limits-${process.pid}`;
const v2: RunCgroups | null = await detectRunCgroups({ dirName: TEST_DIR_NAME });
const support: RunLimitSupport = await detectRunLimits({ cgroups: v2, v1DirName: TEST_DIR_NAME });
const why = `this host enforces memory by ${support.memory}: ${support.notes.join('; ') || 'cgroup v2 works'}`;
if (support.memory !== 'cgroup v2') console.warn(`test/runner/memory-limit.test.ts: cgroup v2 memory tests SKIPPED: ${why}`);
if (support.memory !== 'cgroup v1') console.warn(`test/runner/memory-limit.test.ts: cgroup v1 memory tests SKIPPED: ${why}`);

const janitor = new Janitor();
afterEach(() => janitor.cleanup());
afterAll(async () => {
  for (const cgroups of [v2, support.v1Memory, support.v1Cpu]) if (cgroups) await removeTestCgroups(cgroups);
});

interface Path {
  name: string;
  available: boolean;
  opts: () => StartOptions;
  via: 'rss' | 'cgroup';
  cgroupVersion: 1 | 2 | null;
  /** How the error text names the enforcer. */
  by: RegExp;
}

const PATHS: Path[] = [
  { name: 'rss', available: true, opts: () => ({}), via: 'rss', cgroupVersion: null, by: /sampled RSS/ },
  {
    name: 'cgroup v2',
    available: support.memory === 'cgroup v2',
    opts: () => ({ cgroups: v2, limits: support }),
    via: 'cgroup',
    cgroupVersion: 2,
    by: /cgroup v2 OOM kill/,
  },
  {
    name: 'cgroup v1',
    available: support.memory === 'cgroup v1',
    opts: () => ({ cgroups: v2, limits: support }),
    via: 'cgroup',
    cgroupVersion: 1,
    by: /cgroup v1 OOM kill/,
  },
];

function leakSpec(command: ReturnType<typeof argv>, memoryBytes: number) {
  const pidDir = janitor.tempDir('ns-leak-');
  const spec = janitor.track(
    makeSpec(command, { env: baseEnv({ PIDFILE_DIR: pidDir }), memoryBytes, timeoutMs: 20_000, killGraceMs: 500 }),
  );
  return { spec, pidDir };
}

/** Nothing of the run is left: no pid it wrote is alive, nothing carries its marker. */
async function expectTreeGone(runId: string, pidDir: string, names: string[]): Promise<void> {
  const pids = readPids(pidDir);
  for (const name of names) {
    expect(pids[name], `${name}.pid`).toBeDefined();
    expect(await isAlive(pids[name] as number), `${name} (${pids[name]}) is still alive`).toBe(false);
  }
  expect(await proc.findMarkedPids(runId)).toEqual([]);
}

/**
 * Whether a timer keeps the event loop alive over `ms`: true when most looks (every 25 ms) find one. A guard still
 * sampling (a 500 ms timer between samples) is in nearly every look; vitest's own short-lived timers are in few.
 */
async function timerAlive(ms: number): Promise<boolean> {
  let looks = 0;
  let found = 0;
  for (const end = performance.now() + ms; performance.now() < end; looks++) {
    await sleep(25); // this look's own timer has fired by the time it looks
    if (process.getActiveResourcesInfo().includes('Timeout')) found += 1;
  }
  return found > looks / 2;
}

function expectMemoryKill(result: RunResult, path: Path, limitBytes: number): void {
  expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'memory', survivors: 0 });
  expect(result.memory).toMatchObject({
    limitBytes,
    via: path.via,
    cgroupVersion: path.cgroupVersion,
    exceeded: true,
  });
  if (path.via === 'cgroup') expect(result.memory?.oomKills).toBeGreaterThanOrEqual(1);
  // A sample that ended the run is above the limit by definition. The cgroup's peak is its high-water mark, which the
  // kernel fills up to the limit before it OOM-kills (a page short at worst; 1 MB of slack keeps this about that).
  expect(result.memory?.peakBytes).toBeGreaterThanOrEqual(path.via === 'rss' ? limitBytes : limitBytes - MB);
  expect(result.durationMs).toBeLessThan(5000); // 20 MB per 100 ms from ~40 MB: over 64M in well under a second
  const end = endFromResult(result, new Date().toISOString());
  expect(end).toMatchObject({ status: 'killed', reason: 'memory' });
  expect(end.error).toMatch(/^memory limit 64M exceeded \(peak \d+(\.\d)?[MG], /);
  expect(end.error).toMatch(path.by);
}

describe.each(PATHS)('memory limit by $name', (path) => {
  const skip = !path.available;

  it.skipIf(skip)('a leaker over 64M is killed for memory, within a bounded time, and nothing of it is left', async () => {
    const { spec, pidDir } = leakSpec(argv(fixture('leak.mjs'), 'leak', '20', '100', '1024'), 64 * MB);
    const result = await runProcess(spec, path.opts());
    expectMemoryKill(result, path, 64 * MB);
    await expectTreeGone(spec.runId, pidDir, ['leak']);
  });

  it.skipIf(skip)('the limit is on the whole tree: a small parent whose child leaks is killed with all of it', async () => {
    const { spec, pidDir } = leakSpec(argv(fixture('leaky-child.sh'), 'leak', '20', '100', '1024'), 64 * MB);
    const result = await runProcess(spec, path.opts());
    expectMemoryKill(result, path, 64 * MB);
    await expectTreeGone(spec.runId, pidDir, ['parent', 'sibling', 'leak']);
  });

  it.skipIf(skip)('a run under its limit is untouched, and its guard leaves no timer behind', async () => {
    // Over a second: the guard looks at least twice while the run runs.
    const spec = janitor.track(makeSpec(sh('sleep 1.2; echo done'), { memoryBytes: 64 * MB }));
    const result = await runProcess(spec, path.opts());
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0, cancelReason: null });
    expect(result.memory).toMatchObject({ limitBytes: 64 * MB, via: path.via, exceeded: false, oomKills: 0 });
    expect(result.memory?.peakBytes).toBeGreaterThan(0); // it was looked at
    expect(result.memory?.peakBytes).toBeLessThan(64 * MB);
    expect(endFromResult(result, new Date().toISOString())).toMatchObject({ status: 'succeeded', error: null });
    expect(await timerAlive(700)).toBe(false);
  });
});

describe('memory limit by rss, whole tree', () => {
  it('two children each under the limit are killed together when their sum is over it', async () => {
    // Each: node (~40 MB resident) + 60 MB = ~100 MB, under 128M alone; the two together are ~200 MB.
    const { spec, pidDir } = leakSpec(argv(fixture('leaky-child.sh'), '--two', '20', '60'), 128 * MB);
    const result = await runProcess(spec, {});
    expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'memory', survivors: 0 });
    expect(result.memory).toMatchObject({ via: 'rss', exceeded: true });
    expect(result.memory?.peakBytes).toBeGreaterThan(128 * MB);
    await expectTreeGone(spec.runId, pidDir, ['parent', 'sibling', 'first', 'second']);
  });

  it('a run without a limit has no guard: no memory report and no timer', async () => {
    const spec = janitor.track(makeSpec(sh('sleep 1')));
    const running = runProcess(spec, {});
    // While it runs, the only timer of the run would be a deadline, and it has none.
    await waitFor(async () => (await proc.findMarkedPids(spec.runId)).length > 0, 5000, 'the run to start');
    expect(await timerAlive(600)).toBe(false);
    const result = await running;
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0, memory: null, cpu: null });
  });
});
