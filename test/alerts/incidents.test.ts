/** IncidentDesk against a real SQLite store: open once, renotify on schedule, recoveries held back by flap_window. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IncidentDesk } from '../../src/alerts/incidents.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { silentLogger } from '../../src/util/logger.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function deskAt(clock: { now: number }, alerts: string): Promise<{ desk: IncidentDesk; store: Store }> {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-incidents-'));
  writeFileSync(join(dir, 'nightshift.yaml'), `channels:\n  ops: { type: webhook, url: http://127.0.0.1:9/x }\n  mail: { type: webhook, url: http://127.0.0.1:9/y }\nalerts: ${alerts}\n`);
  const config = loadConfig({ explicit: join(dir, 'nightshift.yaml'), env: process.env, cwd: dir });
  const store = await openSqliteStore(join(dir, 'state.db'));
  await store.migrate();
  const desk = new IncidentDesk({ store, logger: silentLogger(), config: () => config, now: () => clock.now });
  cleanups.push(async () => {
    desk.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { desk, store };
}

const late = { kind: 'job_late' as const, subject: 'scan', summary: 'scan is late', detail: { fix: 'run it' } };

describe('IncidentDesk', () => {
  it('opens once per condition, with one notification per channel in alerts.channels', async () => {
    const clock = { now: T0 };
    const { desk, store } = await deskAt(clock, '{ channels: [ops] }');
    const first = await desk.open(late);
    clock.now += 1000;
    expect((await desk.open(late)).id).toBe(first.id);
    const queued = await store.listDueNotifications(new Date(clock.now).toISOString(), 10);
    expect(queued.map((e) => [e.channel, e.event])).toEqual([['ops', 'incident.opened']]);
  });

  it('renotifies every alerts.renotify while open, and not after it resolved', async () => {
    const clock = { now: T0 };
    const { desk, store } = await deskAt(clock, '{ renotify: 1h, flap_window: 0s }');
    await desk.open(late);
    clock.now += 59 * 60_000;
    await desk.renotifyDue();
    const events = async () => (await store.listDueNotifications(new Date(clock.now + 1).toISOString(), 100)).map((e) => `${e.channel} ${e.event}`);
    expect(await events()).toEqual(['ops incident.opened', 'mail incident.opened']);
    clock.now += 60_000;
    await desk.renotifyDue();
    expect(await events()).toEqual(['ops incident.opened', 'mail incident.opened', 'ops incident.renotify', 'mail incident.renotify']);
    await desk.resolve('job_late', 'scan');
    clock.now += 2 * 3_600_000;
    await desk.renotifyDue();
    expect((await events()).filter((e) => e.endsWith('renotify'))).toHaveLength(2);
    expect((await events()).filter((e) => e.endsWith('resolved'))).toHaveLength(2);
  });

  it('holds a recovery back for flap_window; a relapse within it keeps the incident open and untold', async () => {
    const clock = { now: T0 };
    const { desk, store } = await deskAt(clock, '{ channels: [ops], flap_window: 2m }');
    const opened = await desk.open(late);
    await desk.resolve('job_late', 'scan');
    expect(await store.nextNotificationDue()).toBe(new Date(T0).toISOString()); // only the opening is due now
    clock.now += 60_000;
    const again = await desk.open(late);
    expect(again).toMatchObject({ id: opened.id, state: 'open', detail: { flaps: 1 } });
    const all = await store.listDueNotifications(new Date(T0 + 3_600_000).toISOString(), 10);
    expect(all.map((e) => e.event)).toEqual(['incident.opened']);
  });
});
