/**
 * Task claim+complete throughput on SQLite, side by side with a raw better-sqlite3 loop doing the same work on the same
 * machine. Goal: nightshift ≥ 50 % of the raw loop's tasks/s, at concurrency 1 and 8.
 *
 * Why: every task a worker or a queue-driven job handles costs one claim and one complete; a queue that spends more
 * than the work itself on bookkeeping is the wrong tool for a small VPS.
 *
 * Each round seeds a fresh state.db (WAL, the daemon's pragmas) with --tasks tasks, then C worker threads, each with
 * its own connection to the file, claim and complete until the queue is empty; tasks/s = tasks / wall time from the
 * start signal to the last thread's end. The two sides alternate (raw, nightshift, raw, nightshift …):
 * - nightshift: the store API as the daemon calls it (dist/): `claimTask` — one IMMEDIATE transaction that reaps lapsed
 *   leases, checks the pause, the concurrency and picks the best due task — then `completeTask`, fenced by the claim's
 *   token, in a second transaction; through the async interface, row mapping and JSON parsing of payloads.
 * - raw: what a hand-written SQLite queue does with better-sqlite3 directly: BEGIN IMMEDIATE; pick the best due task
 *   (same ORDER BY, same index); mark it claimed; read it back; COMMIT — then one UPDATE to done, fenced by its token.
 * Reported: the median over --runs rounds of each side's tasks/s and their ratio.
 *
 * Usage: node bench/task-throughput.mjs [--runs 3] [--tasks 10000] [--concurrency 1,8] [--quick]  (--quick: 1 round, 2000)
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const QUEUE = 'bench';
const LIMITS = { concurrency: 1_000_000, rate: null, retries: 3 };
const LEASE_MS = 60_000;

if (!isMainThread) await workerMain(workerData);
else await main();

// ---- worker threads ----

async function workerMain({ mode, path, dist }) {
  const run = mode === 'raw' ? rawLoop(path) : await storeLoop(path, dist);
  parentPort.postMessage({ ready: true });
  parentPort.once('message', async () => {
    const done = await run();
    parentPort.postMessage({ done, endedAt: performance.timeOrigin + performance.now() });
  });
}

async function storeLoop(path, dist) {
  const { openSqliteStore } = await import(join(dist, 'store', 'sqlite', 'sqlite-store.js'));
  const store = await openSqliteStore(path);
  await store.migrate();
  return async () => {
    let done = 0;
    for (;;) {
      const now = new Date().toISOString();
      const claimed = await store.claimTask({ queue: QUEUE, now, lease_token: randomUUID(), lease_ms: LEASE_MS, claimed_by: 'bench', run_id: null, limits: LIMITS });
      if (claimed.task === null) break;
      const result = await store.completeTask(claimed.task.id, { lease_token: claimed.task.lease_token }, '{"ok":true}', now);
      if (!result.ok) throw new Error(`complete refused: ${result.reason}`);
      done += 1;
    }
    await store.close();
    return done;
  };
}

function rawLoop(path) {
  // The daemon's connection settings (src/store/sqlite/connection.ts), so only the code on top differs.
  const db = new Database(path, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const pick = db.prepare(`SELECT id FROM tasks WHERE queue = ? AND state = 'queued' AND run_at <= ? ORDER BY priority DESC, run_at, id LIMIT 1`);
  const mark = db.prepare(`UPDATE tasks SET state = 'running', attempt = attempt + 1, lease_token = ?, lease_expires_at = ?, claimed_by = ?, updated_at = ? WHERE id = ?`);
  const read = db.prepare(`SELECT * FROM tasks WHERE id = ?`);
  const complete = db.prepare(`UPDATE tasks SET state = 'done', result = ?, lease_token = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_token = ?`);
  const claim = db.transaction((now, token) => {
    const row = pick.get(QUEUE, now);
    if (row === undefined) return null;
    mark.run(token, now + LEASE_MS, 'bench', now, row.id);
    return read.get(row.id);
  });
  return async () => {
    let done = 0;
    for (;;) {
      const task = claim.immediate(Date.now(), randomUUID());
      if (task === null) break;
      if (complete.run('{"ok":true}', Date.now(), task.id, task.lease_token).changes !== 1) throw new Error('complete refused');
      done += 1;
    }
    db.close();
    return done;
  };
}

// ---- the benchmark ----

async function main() {
  const { DIST, parseArgs, makeTempDir, removeTempDir, median, round, machine, printTable, emitJson, runMain } = await import('./lib.mjs');
  const args = parseArgs({ runs: 3, tasks: 10_000, concurrency: '1,8' }, { runs: 1, tasks: 2_000 });
  const levels = String(args.concurrency).split(',').map(Number);
  const { openSqliteStore } = await import(join(DIST, 'store', 'sqlite', 'sqlite-store.js'));
  const { newRunId } = await import(join(DIST, 'util', 'ids.js'));

  async function seed(path) {
    const store = await openSqliteStore(path);
    await store.migrate();
    const at = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < args.tasks; i++) {
      await store.enqueueTask({ id: newRunId(), queue: QUEUE, payload_json: JSON.stringify({ n: i, url: `https://example.com/${i}` }), priority: 0, run_at: at, key: null, created_at: at });
    }
    await store.close();
  }

  async function round1(mode, concurrency) {
    const dir = makeTempDir('tasks');
    const path = join(dir, 'state.db');
    await seed(path);
    const workers = Array.from({ length: concurrency }, () => new Worker(new URL(import.meta.url), { workerData: { mode, path, dist: DIST } }));
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); })));
    const ends = workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    const startedAt = performance.timeOrigin + performance.now();
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(ends);
    await Promise.all(workers.map((w) => w.terminate()));
    removeTempDir(dir);
    const done = results.reduce((sum, r) => sum + r.done, 0);
    if (done !== args.tasks) throw new Error(`${mode} handled ${done} of ${args.tasks} tasks`);
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - startedAt) / 1000;
    return args.tasks / seconds;
  }

  await runMain(async () => {
    const info = machine();
    const results = {};
    for (const concurrency of levels) {
      const raw = [];
      const ours = [];
      for (let i = 0; i < args.runs; i++) {
        raw.push(await round1('raw', concurrency));
        ours.push(await round1('nightshift', concurrency));
        process.stdout.write(`concurrency ${concurrency}, round ${i + 1}: raw ${Math.round(raw.at(-1))}/s, nightshift ${Math.round(ours.at(-1))}/s\n`);
      }
      results[concurrency] = { raw_per_s: Math.round(median(raw)), nightshift_per_s: Math.round(median(ours)), ratio: round(median(ours) / median(raw), 2), rounds_raw: raw.map(Math.round), rounds_nightshift: ours.map(Math.round) };
    }
    const rows = [['concurrency', 'raw tasks/s', 'nightshift tasks/s', 'ratio']];
    for (const [c, r] of Object.entries(results)) rows.push([c, r.raw_per_s, r.nightshift_per_s, r.ratio]);
    printTable(rows);
    const goalMet = Object.values(results).every((r) => r.ratio >= 0.5);
    process.stdout.write(`goal (nightshift ≥ 50 % of raw at every concurrency): ${goalMet ? 'met' : 'NOT met'}\n`);
    emitJson({ bench: 'task-throughput', goal_met: goalMet, tasks: args.tasks, runs: args.runs, results, machine: info });
  });
}
