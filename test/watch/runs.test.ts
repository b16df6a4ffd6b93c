/**
 * Heartbeats and stalls (seed 003's three steps), and late vs long runs, on a real daemon with real processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readJobLogLines } from '../../src/runner/output/log-reader.ts';
import { count, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, deliveredOf, hookChannel } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

async function trigger(t: TestDaemon, job: string): Promise<void> {
  const response = await fetch(`${t.url}/api/v1/jobs/${job}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.daemon.apiToken()}` },
  });
  expect(response.status).toBe(202);
}

describe('heartbeats', () => {
  it('silence escalates: a warning on the run, then a kill (stalled) and a retry, then one stalled incident', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  agent:
    command: 'echo working; exec sleep 600'
    heartbeat: { warn: 1s, restart: 2s, alert: 5s }
    retries: { max: 5, backoff: 100ms }
`));
    await trigger(t, 'agent');
    const killed = await t.waitForRuns('agent', 'the first attempt killed as stalled', (runs) => count(runs, 'killed', 'stalled') >= 1, 10_000);
    const first = killed.find((r) => r.status === 'killed')!;
    expect(first.duration_ms).toBeGreaterThanOrEqual(2000);
    expect(first.duration_ms).toBeLessThan(4000);
    const log = await readJobLogLines(`${t.dir}/.nightshift/logs`, 'agent', { runId: first.id });
    expect(log.join('\n')).toMatch(/\[nightshift\] no heartbeat for 1(\.\d)?s \(warn after 1s; killed after 2s\)/);
    expect(log.join('\n')).toMatch(/killing this run as stalled/);
    await t.waitForRuns('agent', 'a retry running', (runs) => runs.some((r) => r.attempt === 2 && r.chain_id === first.chain_id));

    // Counted across attempts: the chain has been silent 5 s though each attempt lived only 2 s.
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'stalled', 'agent').length === 1, 10_000, 'the stalled incident');
    const [told] = deliveredOf(receiver, 'incident.opened', 'stalled', 'agent');
    expect(told!.incident.summary).toMatch(/^job agent has sent no heartbeat for \d+(\.\d)?s, across its retried attempts$/);
    expect(told!.incident.detail.fix).toMatch(/killed every 2s of silence/);
  });

  it('a run that heartbeats with curl "$NIGHTSHIFT_HEARTBEAT_URL" is left alone; heartbeat_at is recorded, a note goes into its log', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  beating:
    command: |
      for i in 1 2 3 4 5 6 7 8 9 10; do curl -fsS -o /dev/null "$NIGHTSHIFT_HEARTBEAT_URL" || exit 9; sleep 0.3; done
      curl -fsS -o /dev/null -H 'content-type: application/json' -d '{"note":"page 10 of 10"}' "$NIGHTSHIFT_HEARTBEAT_URL"
    heartbeat: { warn: 1s, restart: 2s, alert: 4s }
`));
    await trigger(t, 'beating');
    const [run] = await t.waitForRuns('beating', 'the run to end', (runs) => runs.some((r) => r.status !== 'running' && r.status !== 'queued'), 15_000);
    expect(run).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(run!.heartbeat_at).not.toBeNull();
    expect(Date.parse(run!.heartbeat_at!)).toBeGreaterThan(Date.parse(run!.started_at!) + 2000);
    const log = await readJobLogLines(`${t.dir}/.nightshift/logs`, 'beating', { runId: run!.id });
    expect(log.join('\n')).toContain('[nightshift] heartbeat: page 10 of 10');
  });

  it('a heartbeat needs the run\'s own token, and only counts while the run runs', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  quick: { command: 'true' }
`));
    await trigger(t, 'quick');
    const [run] = await t.waitForRuns('quick', 'the run to end', (runs) => runs.some((r) => r.status === 'succeeded'));
    const url = `${t.url}/api/v1/runs/${run!.id}/heartbeat`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${url}?token=${t.daemon.runTokens.issue('01SOMEOTHERRUN000000000000')}`, { method: 'POST' })).status).toBe(401);
    const late = await fetch(`${url}?token=${encodeURIComponent(t.daemon.runTokens.issue(run!.id))}`, { method: 'POST' });
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ error: { code: 'not_running' } });
  });
});

describe('late vs long', () => {
  it('a run past max_runtime is long_run (not killed); a run that waited for a slot is late_start — two messages', async () => {
    const { receiver, yaml } = await hookChannel('late_start: 1s');
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
limits: { max_concurrent_runs: 1 }
jobs:
  slow:
    command: 'sleep 3'
    max_runtime: 1s
  tick:
    command: 'true'
    schedule: "* * * * * *"
    overlap: queue
`));
    await t.daemon.setPaused('tick', true);
    await trigger(t, 'slow');
    await t.waitForRuns('slow', 'slow running', (runs) => runs.some((r) => r.status === 'running'));
    await t.daemon.setPaused('tick', false);

    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'long_run', 'slow').length === 1, 5000, 'long_run');
    const [long] = deliveredOf(receiver, 'incident.opened', 'long_run', 'slow');
    expect(long!.incident.summary).toMatch(/^job slow has been running for over 1s \(its max_runtime\)/);
    expect(long!.incident.detail.fix).toMatch(/will not be killed for this \(timeout does that\)/);

    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'late_start', 'tick').length === 1, 8000, 'late_start');
    const [late] = deliveredOf(receiver, 'incident.opened', 'late_start', 'tick');
    expect(late!.incident.summary).toMatch(/^job tick started \d+(\.\d)?s late \(due .*, started .*\)$/);
    expect(late!.incident.detail.fix).toMatch(/max_concurrent_runs/);

    const runs = await t.waitForRuns('slow', 'slow to end', (list) => list.some((r) => r.status === 'succeeded'));
    expect(runs[0]).toMatchObject({ status: 'succeeded', exit_code: 0 }); // a warning, not a kill
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'long_run', 'slow').length === 1, 5000, 'long_run resolved');
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'late_start', 'tick').length === 1, 8000, 'late_start resolved by an on-time start');
  });
});
