/**
 * Fires that fell in a downtime: the daemon finds them from the stored fire cursor and applies catch_up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import { count, makeDir, startTestDaemon, type TestDaemon } from './harness.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

/** Pretends a daemon last acted on a fire of `job` `agoMs` ago and then went down. */
async function downtimeOf(dir: string, job: string, agoMs: number): Promise<void> {
  const store = await openStore({ kind: 'sqlite', path: join(dir, '.nightshift', 'state.db') });
  await store.migrate();
  await store.setLastFire(job, new Date(Math.floor((Date.now() - agoMs) / 1000) * 1000).toISOString());
  await store.close();
}

const config = (catchUp: string) => `
shutdown_grace: 500ms
jobs:
  tick:
    command: "true"
    schedule: "* * * * * *"
    catch_up: ${catchUp}
`;

describe('catch_up after downtime', () => {
  it('latest: runs the latest missed fire (trigger catch_up) and records every other one as missed', async () => {
    const dir = makeDir();
    // A daily job down for six days: no fire can fall inside the daemon's own start, however slow the box
    // (a per-second job here raced a loaded CI machine's start: the newest fire came after it and ran on time).
    await downtimeOf(dir, 'tick', 6 * 86_400_000 + 60_000);
    current = await startTestDaemon(config('latest').replace('"* * * * * *"', '"0 0 * * *"'), { dir });
    const runs = await current.waitForRuns('tick', 'the catch-up run', (r) => r.some((x) => x.trigger === 'catch_up' && x.status === 'succeeded'));
    const catchUps = runs.filter((r) => r.trigger === 'catch_up');
    expect(catchUps).toHaveLength(1);
    const missed = runs.filter((r) => r.reason === 'missed');
    expect(missed.length).toBeGreaterThanOrEqual(5); // six daily fires in the downtime (seven within a minute of midnight)
    for (const m of missed) {
      expect(m).toMatchObject({ status: 'skipped', trigger: 'schedule', started_at: null });
      expect(Date.parse(m.scheduled_at)).toBeLessThan(Date.parse(catchUps[0]!.scheduled_at));
    }
    // Missed fires are distinct seconds: none recorded twice.
    expect(new Set(missed.map((m) => m.scheduled_at)).size).toBe(missed.length);
  });

  it('none: records every missed fire and runs none of them', async () => {
    const dir = makeDir();
    await downtimeOf(dir, 'tick', 6_000);
    current = await startTestDaemon(config('none'), { dir });
    // Fires before the daemon itself started fell in the downtime, however long its start took.
    const startedAt = Date.parse(current.daemon.daemonInfo().started_at);
    const runs = await current.waitForRuns('tick', 'a normal run after the missed ones', (r) => count(r, 'succeeded') >= 1);
    expect(runs.filter((r) => r.trigger === 'catch_up')).toHaveLength(0);
    const missed = runs.filter((r) => r.reason === 'missed');
    expect(missed.length).toBeGreaterThanOrEqual(5);
    for (const m of missed) expect(Date.parse(m.scheduled_at)).toBeLessThan(startedAt);
  });

  it('a first start does not replay the past: a new job counts from now', async () => {
    current = await startTestDaemon(config('latest'));
    const runs = await current.waitForRuns('tick', 'a first run', (r) => count(r, 'succeeded') >= 1);
    expect(runs.filter((r) => r.reason === 'missed' || r.trigger === 'catch_up')).toHaveLength(0);
  });
});
