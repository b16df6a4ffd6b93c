/**
 * The outbox: written before sending, delivered with retries, a failing channel made visible — against a real
 * SQLite store and real receivers on 127.0.0.1; and a daemon killed with SIGKILL mid-send delivers after restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IncidentDesk } from '../../src/alerts/incidents.ts';
import { OutboxSender } from '../../src/alerts/outbox.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { exited, freePort, spawnDaemon } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, startReceiver, type Receiver } from './helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await closeReceivers();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-outbox-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function parts(yaml: string): Promise<{ store: Store; desk: IncidentDesk; outbox: OutboxSender }> {
  const dir = tempDir();
  writeFileSync(join(dir, 'nightshift.yaml'), yaml);
  const config = loadConfig({ explicit: join(dir, 'nightshift.yaml'), env: process.env, cwd: dir });
  const store = await openSqliteStore(join(dir, 'state.db'));
  await store.migrate();
  const logger = silentLogger();
  const desk = new IncidentDesk({ store, logger, config: () => config });
  const outbox = new OutboxSender({ store, logger, config: () => config, incidents: desk, backoffMs: 50 });
  cleanups.push(async () => {
    await outbox.stop(0);
    desk.stop();
    await store.close();
  });
  return { store, desk, outbox };
}

const kinds = (receiver: Receiver) =>
  receiver.requests.map((r) => {
    const body = JSON.parse(r.body.toString('utf8')) as { event: string; incident: { kind: string; subject: string } };
    return `${body.event} ${body.incident.kind} ${body.incident.subject}`;
  });

describe('outbox', () => {
  it('retries a failing channel, opens channel_failing on the others only, and resolves it once delivery works', async () => {
    const broken = await startReceiver({ status: 503, body: 'down for maintenance' });
    const backup = await startReceiver();
    const { store, desk, outbox } = await parts(`
jobs: { scan: { command: 'true' } }
channels:
  slack: { type: webhook, url: ${broken.origin}/ }
  mail: { type: webhook, url: ${backup.origin}/ }
alerts: { flap_window: 0s }
`);
    outbox.start();
    await desk.open({ kind: 'job_late', subject: 'scan', summary: 'scan is late', detail: { fix: 'look' } });
    await waitFor(() => kinds(backup).includes('incident.opened channel_failing slack'), 5000, 'channel_failing told on mail');
    expect(broken.requests.length).toBeGreaterThanOrEqual(3);
    expect(kinds(broken).every((k) => k === 'incident.opened job_late scan')).toBe(true); // never told about itself
    const [summary] = (await store.outboxSummary()).filter((c) => c.channel === 'slack');
    expect(summary).toMatchObject({ pending: 1, last_error: expect.stringMatching(/503/) });

    broken.reply = { status: 200, body: 'ok' };
    await waitFor(() => kinds(backup).includes('incident.resolved channel_failing slack'), 5000, 'channel_failing resolved');
    expect(kinds(broken).filter((k) => k === 'incident.opened job_late scan').length).toBeGreaterThanOrEqual(4);
    expect((await store.outboxSummary()).find((c) => c.channel === 'slack')).toMatchObject({ pending: 0 });
    expect(kinds(backup).filter((k) => k === 'incident.opened job_late scan')).toHaveLength(1);
  });

  it('a channel that hangs does not hold up the others: each channel is delivered on its own', async () => {
    // A receiver that takes requests and never answers, as a wedged webhook endpoint does until the send timeout.
    const held: Array<{ destroy(): void }> = [];
    const hanging = createServer((req) => held.push(req.socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of held) socket.destroy();
          hanging.close(() => resolve());
        }),
    );
    const pager = await startReceiver();
    const { desk, outbox } = await parts(`
channels:
  slack: { type: webhook, url: http://127.0.0.1:${(hanging.address() as AddressInfo).port}/ }
  pager: { type: webhook, url: ${pager.origin}/ }
alerts: { flap_window: 0s }
`);
    outbox.start();
    await desk.open({ kind: 'job_late', subject: 'scan', summary: 'scan is late', detail: { fix: 'look' } });
    await desk.open({ kind: 'check_down', subject: 'backup', summary: 'backup is down', detail: { fix: 'look' } });
    // Both reach the pager while the first request to slack is still hanging (its timeout is 30 s).
    await waitFor(() => kinds(pager).length === 2, 5000, 'both incidents on the pager');
    expect(held).toHaveLength(1);
    expect(kinds(pager)).toEqual(['incident.opened job_late scan', 'incident.opened check_down backup']);
  });

  it('gives up at once on an answer that a retry cannot fix, and says why', async () => {
    const rejecting = await startReceiver({ status: 400, body: 'invalid_payload' });
    const { store, desk, outbox } = await parts(`
channels:
  slack: { type: slack, url: ${rejecting.origin}/services/T/B/x }
alerts: { flap_window: 0s }
`);
    outbox.start();
    await desk.open({ kind: 'disk_low', subject: 'host', summary: 'disk low', detail: { fix: 'clean up' } });
    await waitFor(async () => (await store.outboxSummary())[0]?.failed === 1, 5000, 'the entry given up');
    expect(rejecting.requests).toHaveLength(1);
    expect((await store.outboxSummary())[0]!.last_error).toMatch(/400/);
  });
});

describe('across a kill -9', () => {
  it('a notification in flight when the daemon is killed is delivered after the restart, once', async () => {
    // The receiver holds the first request open (the daemon is mid-send when it dies), then answers normally.
    const bodies: string[] = [];
    let held = 0;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        if (held++ === 0) return; // never answered
        bodies.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const hookPort = (server.address() as AddressInfo).port;
    const dir = tempDir();
    const port = await freePort();
    const configPath = join(dir, 'nightshift.yaml');
    writeFileSync(
      configPath,
      `http: { listen: 127.0.0.1:${port} }
shutdown_grace: 500ms
channels:
  hook: { type: webhook, url: http://127.0.0.1:${hookPort}/ }
checks:
  backup: { every: 1s, grace: 1s, uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278 }
`,
    );
    let daemon = spawnDaemon(configPath);
    cleanups.push(async () => {
      daemon.kill('SIGKILL');
      await exited(daemon);
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278`).catch(() => null))?.ok, 10_000, 'the daemon to take a ping');
    await waitFor(() => held === 1, 10_000, 'the notification to be in flight');
    daemon.kill('SIGKILL');
    await exited(daemon);
    expect(bodies).toEqual([]);

    daemon = spawnDaemon(configPath);
    await waitFor(() => bodies.length === 1, 10_000, 'delivery after the restart');
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)) !== null, 10_000, 'the second daemon');
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())).includes('nightshift_outbox_backlog 0'), 5000, 'the delivery marked sent');
    const delivered = JSON.parse(bodies[0]!) as { event: string; incident: { kind: string; subject: string } };
    expect(delivered).toMatchObject({ event: 'incident.opened', incident: { kind: 'check_down', subject: 'backup' } });
    // Marked sent: a further restart sends nothing more.
    daemon.kill('SIGTERM');
    await exited(daemon);
    daemon = spawnDaemon(configPath);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)) !== null, 10_000, 'the third daemon');
    const incidents = (await (await fetch(`http://127.0.0.1:${port}/api/v1/incidents?all=1`)).json()) as Array<{ kind: string }>;
    expect(incidents.map((i) => i.kind)).toEqual(['check_down']);
    expect(bodies.map((b) => (JSON.parse(b) as { event: string }).event)).toEqual(['incident.opened']);
  });
});
