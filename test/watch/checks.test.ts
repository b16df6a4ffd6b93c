/**
 * Checks end to end, on a real daemon (SQLite file, HTTP socket, child processes) with a real webhook receiver:
 * outside checks pinged over the Healthchecks.io API, job checks fed by runs, incidents told once, /healthz.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { runitor } from '../helpers/runitor.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, deliveredOf, hookChannel } from './helpers.ts';

const UUID = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

async function checkState(t: TestDaemon, name: string): Promise<{ state: string; down_since: string | null; next_due_at: string | null }> {
  const response = await fetch(`${t.url}/api/v1/checks/${name}`);
  return (await response.json()) as { state: string; down_since: string | null; next_due_at: string | null };
}

describe('outside checks', () => {
  it('goes down within a second of its due time, is told once, and recovers with one resolved notification', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
checks:
  backup: { every: 1s, grace: 1s, uuid: ${UUID} }
`));
    expect((await checkState(t, 'backup')).state).toBe('new');
    const pinged = await fetch(`${t.url}/ping/${UUID}`);
    expect(pinged.status).toBe(200);
    expect(await pinged.text()).toBe('OK');
    const afterPing = await checkState(t, 'backup');
    expect(afterPing.state).toBe('up');
    const dueAt = Date.parse(afterPing.next_due_at!);

    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'check_down').length > 0, 5000, 'the check_down notification');
    const seenAt = Date.now();
    expect(seenAt - dueAt).toBeLessThan(1500); // goal 1 s (bench/check-down-latency.mjs measures it); slack for a busy CI box
    const [opened] = deliveredOf(receiver, 'incident.opened', 'check_down');
    expect(opened).toMatchObject({ event: 'incident.opened', project: expect.any(String), incident: { kind: 'check_down', subject: 'backup', state: 'open' } });
    expect(opened!.text).toContain('backup');
    expect(opened!.incident.detail.fix).toMatch(/crontab/);
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ ok: false, reasons: [{ subject: 'backup', kind: 'check_down' }] });

    expect((await fetch(`${t.url}/ping/${UUID}`, { method: 'POST', body: 'done' })).status).toBe(200);
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'check_down').length > 0, 5000, 'the recovery');
    expect(deliveredOf(receiver, 'incident.opened', 'check_down')).toHaveLength(1);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const pings = (await (await fetch(`${t.url}/api/v1/checks/backup/pings`)).json()) as Array<{ kind: string; body: string | null }>;
    expect(pings[0]).toMatchObject({ kind: 'success', body: 'done' });
  });

  it('a /fail ping is down at once; a start/end pair by rid has its duration', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
checks:
  nightly: { schedule: "0 3 * * *", grace: 1h, uuid: ${UUID} }
`));
    const rid = '0b6c3f4e-8f2a-4d7e-9c1b-5a6d7e8f9a0b';
    await fetch(`${t.url}/ping/${UUID}/start?rid=${rid}`, { method: 'POST' });
    expect((await checkState(t, 'nightly')).state).toBe('started');
    await waitFor(async () => (await fetch(`${t.url}/ping/${UUID}/2?rid=${rid}`, { method: 'POST', body: 'disk full' })).ok, 2000, 'the exit ping');
    expect((await checkState(t, 'nightly')).state).toBe('down');
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'check_down').length === 1, 5000, 'the failure notification');
    const [told] = deliveredOf(receiver, 'incident.opened', 'check_down');
    expect(told!.incident.summary).toMatch(/failure \(exit 2\)/);
    expect(told!.incident.detail.last_ping).toMatchObject({ kind: 'exit', exit_code: 2, body: 'disk full' });
    const pings = (await (await fetch(`${t.url}/api/v1/checks/nightly/pings`)).json()) as Array<{ kind: string; duration_ms: number | null; rid: string }>;
    expect(pings[0]).toMatchObject({ kind: 'exit', rid });
    expect(pings[0]!.duration_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('job checks', () => {
  it('a failing scheduled job is run_failed with its stderr, then job_late; a success resolves both', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  scan:
    command: 'test -f ok || { echo "API key missing" >&2; exit 3; }'
    schedule: "* * * * * *"
    grace: 1s
`));
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'run_failed', 'scan').length > 0, 8000, 'run_failed');
    const [failed] = deliveredOf(receiver, 'incident.opened', 'run_failed', 'scan');
    expect(failed!.incident.summary).toBe('job scan failed with exit code 3');
    expect(failed!.incident.detail.stderr_tail).toEqual(['API key missing']);
    expect(failed!.text).toContain('API key missing');
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'job_late', 'scan').length > 0, 8000, 'job_late');
    const health = (await (await fetch(`${t.url}/healthz`)).json()) as { reasons: Array<{ kind: string }> };
    expect(health.reasons.map((r) => r.kind)).toContain('job_late');
    const status = (await (await fetch(`${t.url}/api/v1/status`)).json()) as { checks: Array<{ name: string; state: string; ping_url: string }>; incidents_open: number };
    expect(status.checks).toMatchObject([{ name: 'scan', state: 'down', ping_url: expect.stringMatching(/\/ping\/[0-9a-f-]{36}$/) }]);
    expect(status.incidents_open).toBe(2);

    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${t.dir}/ok`, '');
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'job_late', 'scan').length === 1, 8000, 'job_late resolved');
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'run_failed', 'scan').length === 1, 8000, 'run_failed resolved');
    // Told once each, though the job failed every second until it was fixed.
    expect(deliveredOf(receiver, 'incident.opened', 'run_failed', 'scan')).toHaveLength(1);
    expect(deliveredOf(receiver, 'incident.opened', 'job_late', 'scan')).toHaveLength(1);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});

describe('across restarts', () => {
  it('a check that went due while the daemon was down is down at start, and its incident is told once', async () => {
    const { receiver, yaml } = await hookChannel();
    const config = `${yaml}
shutdown_grace: 500ms
checks:
  backup: { every: 1s, grace: 1s, uuid: ${UUID} }
`;
    let t = (current = await startTestDaemon(config));
    const dir = t.dir;
    await fetch(`${t.url}/ping/${UUID}`);
    const dueAt = Date.parse((await checkState(t, 'backup')).next_due_at!);
    await t.daemon.stop();
    current = null;
    await waitFor(() => Date.now() > dueAt + 200, 5000, 'the due moment to pass while the daemon is down');

    t = current = await startTestDaemon(config, { dir });
    expect((await checkState(t, 'backup')).state).toBe('down');
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'check_down').length === 1, 5000, 'the notification');
    await t.daemon.stop();
    t = current = await startTestDaemon(config, { dir });
    const incidents = (await (await fetch(`${t.url}/api/v1/incidents?all=1`)).json()) as unknown[];
    expect(incidents).toHaveLength(1);
    await waitFor(async () => (await t.daemon.store.nextNotificationDue()) === null, 3000, 'an empty outbox');
    expect(deliveredOf(receiver, 'incident.opened', 'check_down')).toHaveLength(1);
  });
});

describe('clients', () => {
  it("runitor's exact sequence against the daemon: start and end paired by rid, output kept, a failure down at once", async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
checks:
  backup: { schedule: "0 3 * * *", grace: 1h, uuid: ${UUID} }
`));
    const ok = await runitor(`${t.url}/ping`, UUID, "echo 'dumped 12 tables'");
    let pings = (await (await fetch(`${t.url}/api/v1/checks/backup/pings`)).json()) as Array<{ kind: string; rid: string; body: string | null; duration_ms: number | null }>;
    expect(pings.map((p) => p.kind)).toEqual(['success', 'start']);
    expect(pings[0]).toMatchObject({ rid: ok.rid, body: 'dumped 12 tables\n' });
    expect(pings[0]!.duration_ms).toBeGreaterThanOrEqual(0);
    expect((await checkState(t, 'backup')).state).toBe('up');

    const failed = await runitor(`${t.url}/ping`, UUID, "echo 'pg_dump: connection refused' >&2; exit 2");
    pings = (await (await fetch(`${t.url}/api/v1/checks/backup/pings`)).json()) as typeof pings;
    expect(pings[0]).toMatchObject({ kind: 'exit', rid: failed.rid, body: 'pg_dump: connection refused\n\n[runitor] exit status 2' });
    expect((await checkState(t, 'backup')).state).toBe('down');
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'check_down', 'backup').length === 1, 5000, 'check_down told');
  });
});
