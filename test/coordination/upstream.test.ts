/**
 * Upstream freshness with a real daemon and real runs: `after: { job, max_age, on_stale }` is honoured by every start
 * (manual ones included); a degraded run records why and gets NIGHTSHIFT_DEGRADED=1; a skipped one has reason
 * upstream_stale; once the upstream succeeds the downstream runs normally. `upstream.fresh()` and its endpoint agree.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { readJobLogLines } from '../../src/runner/output/log-reader.ts';
import { upstreamClient } from '../../src/sdk/upstream.ts';
import type { Run } from '../../src/store/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { api } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

const CONFIG = `
shutdown_grace: 1s
jobs:
  scan:
    command: 'exit $$\{SCAN_EXIT:-0}'
  writer:
    command: 'echo "degraded=$$\{NIGHTSHIFT_DEGRADED:-0}"'
    after: { job: scan, max_age: 1h, on_stale: degrade }
  publisher:
    command: "true"
    after: { job: scan, max_age: 1h, on_stale: skip }
`;

async function finished(t: TestDaemon, run: Run): Promise<Run> {
  if (run.status !== 'running') return run;
  const runs = await t.waitForRuns(run.job, `${run.job} to end`, (list) => list.some((r) => r.id === run.id && r.status !== 'running'));
  return runs.find((r) => r.id === run.id)!;
}

async function printed(t: TestDaemon, run: Run): Promise<string> {
  return waitFor(async () => (await readJobLogLines(join(t.config.stateDir, 'logs'), run.job, { runId: run.id })).join('\n'), 5_000, 'the log');
}

describe('after: upstream freshness', () => {
  it('degrades or skips while the upstream is stale, manual starts included, and runs normally once it is fresh', async () => {
    const t = (current = await startTestDaemon(CONFIG));

    const degraded = await finished(t, await t.daemon.trigger('writer', 'manual'));
    expect(degraded).toMatchObject({ status: 'succeeded', degraded: 'upstream scan has never succeeded (max_age 1h)' });
    expect(await printed(t, degraded)).toContain('degraded=1');

    const skipped = await t.daemon.trigger('publisher', 'manual');
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'upstream_stale', started_at: null });

    expect((await api(t, 'GET', '/upstream/scan?within=1h')).body).toMatchObject({ job: 'scan', fresh: false, last_success_at: null, age_ms: null });

    expect((await finished(t, await t.daemon.trigger('scan', 'api'))).status).toBe('succeeded');

    const normal = await finished(t, await t.daemon.trigger('writer', 'api'));
    expect(normal).toMatchObject({ status: 'succeeded', degraded: null });
    expect(await printed(t, normal)).toContain('degraded=0');
    expect((await finished(t, await t.daemon.trigger('publisher', 'api'))).status).toBe('succeeded');

    const fresh = (await api(t, 'GET', '/upstream/scan?within=1h')).body;
    expect(fresh).toMatchObject({ job: 'scan', fresh: true, within_ms: 3_600_000 });
    expect(fresh.age_ms).toBeLessThan(60_000);
    // The SDK asks the same endpoint.
    const sdk = upstreamClient(() => ({ url: t.url, token: '', runId: null }));
    expect(await sdk.fresh('scan', { within: '1h' })).toBe(true);
    expect(await sdk.fresh('scan', { within: 1 })).toBe(false); // 1 ms ago is too much to ask
  });

  it('only a success within max_age counts: a newer failure does not, and the degraded note says how old it is', async () => {
    const t = (current = await startTestDaemon(CONFIG));
    const ended = (agoMs: number) => new Date(Date.now() - agoMs).toISOString();
    const record = (id: string, status: 'succeeded' | 'failed', agoMs: number) =>
      t.daemon.store.insertRun(
        { id, job: 'scan', attempt: 1, chain_id: id, trigger: 'api', scheduled_at: ended(agoMs), node: 'n' },
        { status, reason: null, exit_code: status === 'succeeded' ? 0 : 1, signal: null, ended_at: ended(agoMs) },
      );
    await record('01000000000000000000000000', 'succeeded', 2 * 3_600_000);
    await record('01000000000000000000000001', 'failed', 1_000);

    const stale = (await api(t, 'GET', '/upstream/scan?within=1h')).body;
    expect(stale).toMatchObject({ fresh: false, last_success_at: expect.any(String), within_ms: 3_600_000 });
    expect(stale.age_ms).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect((await api(t, 'GET', '/upstream/scan?within=3h')).body.fresh).toBe(true);

    const degraded = await finished(t, await t.daemon.trigger('writer', 'api'));
    expect(degraded.degraded).toBe('upstream scan last succeeded 2h ago (max_age 1h)');

    expect((await api(t, 'GET', '/upstream/nothing?within=1h')).status).toBe(404);
    expect((await api(t, 'GET', '/upstream/scan')).status).toBe(400);
    expect((await api(t, 'GET', '/upstream/scan?within=soon')).body.error.message).toContain('within must be a duration');
  });

  it('a paused job skips as paused first; a person\'s start passes the pause but not a stale upstream', async () => {
    const t = (current = await startTestDaemon(CONFIG));
    await t.daemon.setPaused('publisher', true);
    // The scheduler's own start path, as a cron fire would take it.
    const dispatcher = (t.daemon as unknown as { parts: { dispatcher: { request(job: unknown, req: object): Promise<Run> } } }).parts.dispatcher;
    const fired = await dispatcher.request(t.config.jobs.publisher, { trigger: 'schedule', scheduledAtMs: Date.now() });
    expect(fired).toMatchObject({ status: 'skipped', reason: 'paused' });
    expect(await t.daemon.trigger('publisher', 'manual')).toMatchObject({ status: 'skipped', reason: 'upstream_stale' });
  });

  it('a service upstream is fresh while it runs and beats (it never ends with a success)', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 1s
jobs:
  feeder:
    command: sleep 30
    restart: always
  reader:
    command: "true"
    after: { job: feeder, max_age: 10m, on_stale: skip }
`));
    await t.waitForRuns('feeder', 'the service to run', (list) => list.some((r) => r.status === 'running'));
    expect(await finished(t, await t.daemon.trigger('reader', 'api'))).toMatchObject({ status: 'succeeded', degraded: null });
    expect((await api(t, 'GET', '/upstream/feeder?within=10m')).body).toMatchObject({ fresh: true, last_success_at: null, alive_at: expect.any(String) });
  });
});
