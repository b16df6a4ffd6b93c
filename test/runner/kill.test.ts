/**
 * Deadlines, cancellation and orphans with real process trees (seeds 002 and 003). Every pid a fixture started is
 * checked afterwards through /proc (zombies count as dead: this container's init does not reap them).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { killTree } from '../../src/runner/kill-tree.ts';
import { parseStat } from '../../src/runner/proc.ts';
import { ORPHAN_GRACE_CAP_MS, runProcess } from '../../src/runner/spawn-run.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Janitor, MemorySink, argv, baseEnv, fixture, isAlive, makeSpec, proc, readPids } from './helpers.ts';

const janitor = new Janitor();
afterEach(() => janitor.cleanup());

/** A spec running `fixture` with its own PIDFILE_DIR. */
function treeSpec(name: string, overrides: Parameters<typeof makeSpec>[1] = {}) {
  const pidDir = janitor.tempDir('ns-pids-');
  const spec = janitor.track(makeSpec(argv(fixture(name)), { env: baseEnv({ PIDFILE_DIR: pidDir }), ...overrides }));
  return { spec, pidDir, sink: spec.output as MemorySink };
}

async function expectAllGone(pids: Record<string, number>, runId: string): Promise<void> {
  for (const [name, pid] of Object.entries(pids)) {
    expect(await isAlive(pid), `${name} (pid ${pid}) is still alive`).toBe(false);
  }
  expect(await proc.findMarkedPids(runId)).toEqual([]);
}

describe('deadline', () => {
  it('kills the whole tree, including a setsid grandchild that ignores SIGTERM, within grace + 1 s', async () => {
    const killGraceMs = 500;
    const timeoutMs = 1500;
    const { spec, pidDir, sink } = treeSpec('tree-hang.sh', { timeoutMs, killGraceMs });
    const result = await runProcess(spec);

    const pids = readPids(pidDir);
    expect(Object.keys(pids).sort()).toEqual(['ingroup', 'parent', 'setsid']);
    expect(result).toMatchObject({ endedBy: 'timed_out', survivors: 0, orphansKilled: 0, exitCode: null });
    expect(result.signal).toBe('SIGTERM'); // the parent honoured SIGTERM; its grandchildren needed SIGKILL
    expect(result.durationMs).toBeGreaterThanOrEqual(timeoutMs);
    expect(result.durationMs).toBeLessThan(timeoutMs + killGraceMs + 1000);
    // Both grandchildren really ignored SIGTERM, so the SIGKILL path was exercised for each.
    expect(sink.text('out')).toMatch(/ingroup \d+: ignoring SIGTERM/);
    expect(sink.text('out')).toMatch(/setsid \d+: ignoring SIGTERM/);
    await expectAllGone(pids, spec.runId);
    expect(sink.endCalls).toBe(1);
  });

  it('reports SIGKILL when the main process itself ignores SIGTERM', async () => {
    const { spec, pidDir } = treeSpec('ignore-term.sh', { timeoutMs: 300, killGraceMs: 300 });
    const result = await runProcess(spec);
    expect(result).toMatchObject({ endedBy: 'timed_out', signal: 'SIGKILL', survivors: 0 });
    await expectAllGone(readPids(pidDir), spec.runId);
  });
});

describe('cancellation', () => {
  it("ends 'cancelled' with the abort reason, without waiting out the grace when the tree obeys", async () => {
    const ac = new AbortController();
    const { spec, pidDir } = treeSpec('hang.sh', { killGraceMs: 10_000 });
    const running = runProcess(spec, { signal: ac.signal });
    await waitFor(() => readPids(pidDir).hang, 5000, 'hang.sh to start');
    ac.abort('stalled');
    const result = await running;
    expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'stalled', signal: 'SIGTERM', survivors: 0 });
    expect(result.durationMs).toBeLessThan(5000); // well under the 10 s grace: stopped as soon as nothing was left
    await expectAllGone(readPids(pidDir), spec.runId);
  });

  it("uses 'cancelled' as the reason when the abort reason is not a string", async () => {
    const ac = new AbortController();
    const { spec, pidDir } = treeSpec('hang.sh');
    const running = runProcess(spec, { signal: ac.signal });
    await waitFor(() => readPids(pidDir).hang, 5000, 'hang.sh to start');
    ac.abort(new Error('shutdown'));
    expect(await running).toMatchObject({ endedBy: 'cancelled', cancelReason: 'cancelled' });
  });
});

describe('orphans', () => {
  it('kills and counts what still carries the marker after the main process exited, pipes held open included', async () => {
    // A long kill_grace: the orphan sweep caps it, so the run still ends promptly.
    const { spec, pidDir, sink } = treeSpec('orphan-exit.sh', { killGraceMs: 60_000 });
    const result = await runProcess(spec);

    const pids = readPids(pidDir);
    expect(Object.keys(pids).sort()).toEqual(['grandchild', 'parent']);
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0, signal: null, survivors: 0 });
    expect(result.orphansKilled).toBeGreaterThanOrEqual(1); // the grandchild (and its sleep, if caught mid-loop)
    expect(result.durationMs).toBeLessThan(ORPHAN_GRACE_CAP_MS + 2000);
    expect(sink.text('out')).toContain('parent exiting');
    expect(sink.text('out')).toMatch(/grandchild \d+: ignoring SIGTERM/);
    await expectAllGone(pids, spec.runId);
  });

  it('killTree trusts a bare process group only when told the run start time or vouched for by a marker', async () => {
    // A process group that is NOT the run's (as after a pid was recycled): no member carries the marker.
    const stranger = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pid = stranger.pid as number;
    try {
      // spawn() returns before the child has called setsid(): until then it is still in the test's process group.
      await waitFor(async () => parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'))?.pgid === pid, 5000, 'the stranger to lead its own group');
      const spec = janitor.track(makeSpec(argv('/bin/true')));
      const untouched = await killTree({ runId: spec.runId, pgid: pid, graceMs: 100 });
      expect(untouched.killed).toBe(0);
      expect(await isAlive(pid)).toBe(true);
      // With the run's start time the group is trusted (runProcess's own sweeps, right after the exit).
      const startTime = (await proc.pidStartTime(pid)) as number;
      const killed = await killTree({ runId: spec.runId, pgid: pid, graceMs: 100, notBeforeStartTime: startTime });
      expect(killed).toMatchObject({ killed: 1, survivors: 0 });
      await waitFor(async () => !(await isAlive(pid)), 2000, 'the stranger to die');
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('killTree finds nothing to do for a run that left nothing behind', async () => {
    const spec = janitor.track(makeSpec(argv('/bin/true')));
    const result = await runProcess(spec);
    expect(result.orphansKilled).toBe(0);
    expect(await killTree({ runId: spec.runId, pgid: null, graceMs: 100 })).toEqual({
      killed: 0,
      survivors: 0,
      survivorPids: [],
      forced: false,
    });
  });
});
