/** The daemon's own surfaces for outside watchers: /metrics on a real daemon through promtool, and self_ping. */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { promtoolCheck } from '../helpers/promtool.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, startReceiver } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

describe('/metrics', () => {
  it('serves runs, checks, incidents and the outbox in a format promtool accepts', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  ok: { command: 'true' }
  bad: { command: 'exit 4' }
checks:
  backup: { every: 1d, grace: 1h }
`));
    for (const job of ['ok', 'bad']) {
      await fetch(`${t.url}/api/v1/jobs/${job}/runs`, { method: 'POST', headers: { authorization: `Bearer ${t.daemon.apiToken()}` } });
    }
    await t.waitForRuns('bad', 'bad to fail', (runs) => runs.some((r) => r.status === 'failed'));
    await t.waitForRuns('ok', 'ok to succeed', (runs) => runs.some((r) => r.status === 'succeeded'));
    const body = await waitFor(async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      return text.includes('nightshift_incidents_open{kind="run_failed"} 1') ? text : null;
    }, 5000, 'the run_failed incident in /metrics');
    expect(body).toContain('nightshift_runs_total{job_name="ok",status="succeeded",reason=""} 1');
    expect(body).toContain('nightshift_runs_total{job_name="bad",status="failed",reason=""} 1');
    expect(body).toContain('nightshift_check_state{check="backup",state="new"} 1');
    expect(body).toMatch(/nightshift_outbox_backlog 0/);
    expect(body).toMatch(/process_resident_memory_bytes \d+/);
    const lint = await promtoolCheck(body);
    expect(lint).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('self_ping', () => {
  it('pings the outside URL while healthy', async () => {
    const outside = await startReceiver();
    current = await startTestDaemon(`
shutdown_grace: 500ms
self_ping: ${outside.origin}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278
`);
    await waitFor(() => outside.requests.length >= 1, 5000, 'the first self ping');
    expect(outside.requests[0]).toMatchObject({ method: 'GET', url: '/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278' });
  });
});
