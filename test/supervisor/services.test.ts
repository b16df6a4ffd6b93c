/**
 * Service jobs: kept running by the daemon, restarted with a backoff that doubles on quick exits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { consecutiveQuickExits, restartDelayMs } from '../../src/supervisor/services.ts';
import type { Run } from '../../src/store/types.ts';
import { count, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

const run = (status: Run['status'], duration_ms: number | null) => ({ status, duration_ms }) as Run;
const backoff = { restartBackoff: { initialMs: 1_000, maxMs: 300_000 } };

describe('restart backoff', () => {
  it('counts quick exits in a row, newest first, ignoring skips and pending runs', () => {
    expect(consecutiveQuickExits([run('failed', 10), run('skipped', null), run('failed', 20), run('succeeded', 60_000), run('failed', 5)], 30_000)).toBe(2);
    expect(consecutiveQuickExits([run('running', null), run('failed', 45_000)], 30_000)).toBe(0);
  });

  it('waits 1 s after a long run and doubles per quick exit up to 5 min', () => {
    expect([0, 1, 2, 3, 4, 5, 9, 40].map((n) => restartDelayMs(backoff, n))).toEqual([
      1_000, 1_000, 2_000, 4_000, 8_000, 16_000, 256_000, 300_000,
    ]);
  });
});

describe('service jobs', () => {
  it('starts a service with the daemon and restarts it after each exit, backing off on quick exits', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  worker:
    command: exit 1
    restart: always
    min_uptime: 10s
`));
    const runs = await t.waitForRuns('worker', 'three attempts', (r) => count(r, 'failed') >= 3, 20_000);
    const byAge = runs.filter((r) => r.status === 'failed').reverse();
    expect(byAge[0]!.trigger).toBe('start');
    expect(byAge[1]!.trigger).toBe('restart');
    // The first restart waits about 1 s, the second about 2 s.
    const gap = (i: number) => Date.parse(byAge[i]!.scheduled_at) - Date.parse(byAge[i - 1]!.ended_at!);
    expect(gap(1)).toBeGreaterThanOrEqual(900);
    expect(gap(1)).toBeLessThan(1_900);
    expect(gap(2)).toBeGreaterThanOrEqual(1_900);
    expect(gap(2)).toBeLessThan(3_000);
    const status = (await (await fetch(`${t.url}/api/v1/jobs/worker`)).json()) as { kind: string };
    expect(status.kind).toBe('service');
  });

  it('on-failure does not restart a service that exits 0', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  once:
    command: "true"
    restart: on-failure
  probe:
    command: "true"
`));
    await t.waitForRuns('once', 'the first run', (r) => count(r, 'succeeded') === 1);
    // The supervisor decides within a few store reads of the run's end; a whole other run (spawned, recorded)
    // takes longer, so once it has ended a restart would be on record.
    await t.daemon.trigger('probe', 'api');
    await t.waitForRuns('probe', 'the probe run', (r) => count(r, 'succeeded') === 1);
    expect((await t.runs('once')).map((r) => r.status)).toEqual(['succeeded']);
  });

  it('a paused service is not restarted; resume starts it again', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  worker:
    command: sleep 30
    restart: always
    kill_grace: 200ms
`));
    const [first] = await t.waitForRuns('worker', 'the service to run', (r) => count(r, 'running') === 1);
    await t.daemon.setPaused('worker', true);
    t.daemon.cancelRun(first!.id);
    await t.waitForRuns('worker', 'the cancelled run to end', (r) => count(r, 'killed') === 1);
    expect(count(await t.runs('worker'), 'queued')).toBe(0);
    await t.daemon.setPaused('worker', false);
    await t.waitForRuns('worker', 'the service to run again', (r) => count(r, 'running') === 1);
  });
});
