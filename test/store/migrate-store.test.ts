/**
 * `nightshift migrate-store` (the built CLI, a real process) copies a SQLite state filled through the Store API into a
 * fresh PostgreSQL schema, and everything reads back identically through the Store API of the PostgreSQL store:
 * history, job state, checks and pings, incidents and notifications, breakers and outputs, tasks in every state and
 * queue state, shared state and its log. A second copy into the same target, and a copy while a daemon runs on the
 * source, are refused with nothing written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { QueueLimits, Store } from '../../src/store/types.ts';
import { runCli } from '../helpers/cli.ts';
import { usePostgres, type TestSchema } from '../helpers/postgres.ts';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';

const pg = usePostgres();
let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const LIMITS: QueueLimits = { concurrency: 5, rate: null, retries: 2, budget: null };

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-migrate-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function schema(): Promise<TestSchema> {
  const created = await pg.createSchema();
  cleanup.push(() => created.drop());
  return created;
}

async function open(kind: 'sqlite' | 'postgres', where: string): Promise<Store> {
  const store = kind === 'sqlite' ? await openSqliteStore(where) : await openPostgresStore(where);
  await store.migrate();
  cleanup.push(() => store.close());
  return store;
}

/** A state with a bit of everything, written only through the Store API. */
async function fill(store: Store): Promise<void> {
  const holder = (runId: string) => ({ token: runId, run_id: runId, pid: 999_999, pid_start: null, node: 'vps-1' });
  const newRun = (id: string, job: string, s: number) => ({ id, job, attempt: 1, chain_id: id, trigger: 'schedule' as const, scheduled_at: at(s), node: 'vps-1' });
  // History: a success, a failure with its queued retry, a skip, a run left running (a daemon that was killed).
  await store.startRun(newRun('01A', 'scan', 0), { name: 'job:scan', holder: holder('01A') }, at(0));
  await store.setRunPid('01A', 4242);
  await store.recordHeartbeat('01A', at(5));
  await store.finishRun('01A', { status: 'succeeded', reason: null, exit_code: 0, signal: null, ended_at: at(10) });
  await store.startRun(newRun('01B', 'writer', 20), { name: 'job:writer', holder: holder('01B') }, at(20));
  await store.finishRun(
    '01B',
    { status: 'failed', reason: null, exit_code: 3, signal: null, ended_at: at(25), error: 'boom\u0000tail' },
    { ...newRun('01C', 'writer', 55), attempt: 2, chain_id: '01B', trigger: 'retry' },
  );
  await store.insertRun({ ...newRun('01D', 'scan', 60), fire: true }, { status: 'skipped', reason: 'overlap', exit_code: null, signal: null, ended_at: at(60) });
  await store.startRun(newRun('01E', 'chat', 70), { name: 'job:chat', holder: holder('01E') }, at(70));
  // Job state.
  await store.setPaused('writer', true);
  await store.setJobHold('chat', { state: 'crash_loop', reason: 'crash_loop', since: at(80) });
  // Checks and pings.
  let n = 0;
  await store.syncChecks([{ name: 'scan', origin: 'job', uuid: null }, { name: 'backup', origin: 'config', uuid: '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278' }], at(0), () => `00000000-0000-4000-8000-00000000000${n++}`);
  await store.createCheck({ name: 'external', uuid: '11111111-1111-4111-8111-111111111111', every_ms: 60_000, grace_ms: 5_000, at: at(1) });
  for (const [kind, s, body] of [['start', 2, null], ['success', 3, 'ok'], ['log', 4, 'note'], ['fail', 5, 'bad']] as const) {
    await store.recordPing({ check: 'backup', kind, exit_code: null, rid: 'r1', body, at: at(s), keep: 100 });
  }
  await store.recordPing({ check: 'external', kind: 'exit', exit_code: 0, rid: null, body: null, at: at(6), keep: 100 });
  // Incidents: one open with its notifications (one sent), one resolved.
  await store.openIncident({ id: 'I1', kind: 'check_down', subject: 'backup', summary: 'backup is down', detail: { fix: 'look', stderr_tail: ['a', 'b'] }, at: at(7), notify: [{ id: 'N1', channel: 'ops' }, { id: 'N2', channel: 'mail' }] });
  await store.markNotificationSent('N1', at(8));
  await store.markNotificationFailed('N2', 'smtp down', at(68));
  await store.openIncident({ id: 'I2', kind: 'run_failed', subject: 'writer', summary: 'writer failed', detail: { fix: 'read the log', exit_code: 3 }, at: at(26), notify: [{ id: 'N3', channel: 'ops' }] });
  await store.resolveIncident({ kind: 'run_failed', subject: 'writer', at: at(90), notify: [{ id: 'N4', channel: 'ops' }], notify_at: at(210) });
  // Containment.
  await store.recordOutput({ job: 'writer', run_id: '01B', outputs: 3, spend: 0.25, at: at(21) });
  await store.recordOutput({ job: 'writer', run_id: null, outputs: 1, spend: 1.5, at: at(22) });
  await store.openBreaker({ name: 'publishing', reason: 'outputs', opened_at: at(23), detail: '23 outputs in 10m, limit 20' });
  // Tasks in every state, and a paused queue.
  const enqueue = (id: string, s: number, key: string | null = null) =>
    store.enqueueTask({ id, queue: 'articles', payload_json: `{"n":${s}}`, priority: s % 2, run_at: at(s), key, created_at: at(s) });
  for (const [id, s] of [['T1', 1], ['T2', 2], ['T3', 3], ['T4', 4]] as const) await enqueue(id, s, id === 'T1' ? 'k-1' : null);
  const claim = async (token: string, s: number) => (await store.claimTask({ queue: 'articles', now: at(s), lease_token: token, lease_ms: 60_000, claimed_by: 'api', run_id: null, limits: LIMITS })).task;
  const done = await claim('L1', 10);
  await store.completeTask(done!.id, { lease_token: 'L1' }, '{"ok":true}', at(11));
  const dead = await claim('L2', 12);
  await store.releaseTask(dead!.id, { lease_token: 'L2' }, { to: 'dead' }, 'gave up', at(13));
  await claim('L3', 14); // left running under its lease
  await store.pauseQueue('articles', at(600), 'rate limited (429)');
  // Shared state with its log.
  for (const [value, s] of [['1', 30], ['{"a":[1,2]}', 31], ['"x"', 32]] as const) {
    await store.setState({ key: 'cursor', value_json: value, by: { job: 'scan', run_id: '01A' }, at: at(s), log_keep: 100, log_value_max_bytes: 65_536 });
  }
  await store.setState({ key: 'big', value_json: JSON.stringify('y'.repeat(100)), by: { job: null, run_id: null }, at: at(33), log_keep: 100, log_value_max_bytes: 10 });
}

/** Everything the Store API can read back, for comparing two stores. */
async function readBack(store: Store) {
  const incidents = await store.listIncidents({ limit: 1000 });
  const tasks = await store.listTasks({ limit: 1000 });
  return {
    runs: await store.listRuns({ limit: 1000 }),
    queued: await store.listRuns({ statuses: ['queued'], dueBefore: at(10_000) }),
    failures: await store.countFailures('writer', at(0)),
    jobStates: await store.listJobStates(),
    checks: await store.listChecks(),
    pings: { backup: await store.listPings('backup', 100), external: await store.listPings('external', 100) },
    incidents,
    notifications: await Promise.all(incidents.map((i) => store.listNotifications(i.id))),
    outbox: await store.outboxSummary(),
    nextDue: await store.nextNotificationDue(),
    breakers: await store.listOpenBreakers(),
    outputs: await store.sumOutputs(['writer'], at(0)),
    tasks,
    taskCounts: await store.countTasks(),
    queue: await store.getQueueState('articles'),
    leaseExpiry: await store.nextLeaseExpiry(),
    stateKeys: await store.listStateKeys(100),
    state: [await store.getState('cursor'), await store.getState('big')],
    stateLog: [await store.listStateLog('cursor', 100), await store.listStateLog('big', 100)],
    activity: await store.jobActivity('scan'),
  };
}

describe('nightshift migrate-store', () => {
  it('copies a SQLite state into a fresh PostgreSQL schema, and it reads back identically', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.db');
    const sqlite = await open('sqlite', file);
    await fill(sqlite);
    const before = await readBack(sqlite);
    await sqlite.close();
    const target = await schema();

    const result = await runCli(['migrate-store', '--from', file, '--to', target.url, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { tables: Array<{ table: string; rows: number }>; skipped: Array<{ table: string }> };
    const rows = Object.fromEntries(report.tables.map((t) => [t.table, t.rows]));
    expect(rows).toMatchObject({ runs: 5, job_state: 3, checks: 3, pings: 5, incidents: 2, outbox: 4, outputs: 2, breakers: 1, tasks: 4, state: 2, state_log: 4, queue_state: 1 });
    expect(report.skipped.map((s) => s.table).sort()).toEqual(['locks', 'nodes', 'schema_migrations']);

    const postgres = await open('postgres', target.url);
    const after = await readBack(postgres);
    // The one difference PostgreSQL has: text cannot hold NUL, which is stored as U+FFFD (docs/scale-out.md).
    const failed = before.runs.find((r) => r.id === '01B')!;
    failed.error = failed.error!.replace('\u0000', '\uFFFD');
    expect(after).toEqual(before);
    expect(await postgres.listLocks()).toEqual([]);

    // Identity columns continue after the copied ids: new pings, state log entries and outputs insert cleanly.
    await postgres.recordPing({ check: 'backup', kind: 'success', exit_code: null, rid: null, body: 'after', at: at(100), keep: 100 });
    expect((await postgres.listPings('backup', 1))[0]?.body).toBe('after');
    expect(await postgres.setState({ key: 'cursor', value_json: '4', expect_version: 3, by: { job: null, run_id: null }, at: at(101), log_keep: 100, log_value_max_bytes: 100 })).toEqual({ written: true, version: 4 });
    await postgres.recordOutput({ job: 'writer', run_id: null, outputs: 1, spend: 0, at: at(102) });
  });

  it('prints counts per table, masks the password, and refuses a second copy into the same target', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.db');
    const sqlite = await open('sqlite', file);
    await fill(sqlite);
    await sqlite.close();
    const target = await schema();
    const withPassword = target.url.replace('postgres://postgres@', 'postgres://postgres:s3cret-pw@');

    const first = await runCli(['migrate-store', '--from', file, '--to', withPassword]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^runs\s+5$/m);
    expect(first.stdout).toMatch(/^tasks\s+4$/m);
    expect(first.stdout).toMatch(/copied \d+ rows from .* into postgres:\/\/postgres:\*\*\*@/);

    const second = await runCli(['migrate-store', '--from', file, '--to', withPassword]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already holds nightshift data \(.*have rows\).*Use a fresh database/);
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain('s3cret-pw');
    const counted = await pg.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${target.name}.runs`);
    expect(Number(counted[0]?.n)).toBe(5);

    const usage = await runCli(['migrate-store', '--from', file, '--to', 'mysql://x@y/z']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--to .* is not a postgres:\/\/ URL/);
  });

  it('refuses while a daemon runs on the SQLite state, leaving the target empty', async () => {
    let daemon: TestDaemon | null = await startTestDaemon('jobs: {}\n');
    cleanup.push(async () => void (await daemon?.cleanup()));
    const file = join(daemon.dir, '.nightshift', 'state.db');
    const target = await schema();

    const refused = await runCli(['migrate-store', '--from', file, '--to', target.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`a nightshift daemon \\(pid ${process.pid}\\) is running on .*state\\.db: stop it first`));
    expect(await pg.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'runs'`, [target.name])).toEqual([]);

    // Once it has stopped, the same copy goes through.
    await daemon.daemon.stop();
    const copied = await runCli(['migrate-store', '--from', file, '--to', target.url]);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    await daemon.cleanup();
    daemon = null;
  });
});
