/**
 * Task claim+complete throughput on PostgreSQL, side by side in one run on the same server: nightshift's PostgreSQL
 * store, pg-boss, graphile-worker, and a raw `FOR UPDATE SKIP LOCKED` loop as the limit. Goal (issue 8 item 7):
 * nightshift ≥ 2 × pg-boss and ≥ graphile-worker, at concurrency 1 and 8.
 *
 * pg-boss and graphile-worker are dependencies of this benchmark only (bench/pg-claims/package.json, installed by
 * scripts/install-bench-deps.sh into bench/pg-claims/node_modules), never of nightshift.
 *
 * The server: a private throwaway cluster (cluster.mjs: initdb + pg_ctl on 127.0.0.1, stopped and removed at the end,
 * also on failure), or NIGHTSHIFT_BENCH_DATABASE_URL (its role needs CREATEDB: every system gets a database of its own,
 * created fresh for each measurement and dropped after it).
 *
 * One measurement = one system at one concurrency C: create its database, enqueue --tasks tasks (not timed), open its
 * connections (not timed), then time claiming and completing all of them with C concurrent claimers in this one
 * process; tasks/s = tasks / (last completion − first claim). The order of the systems rotates from round to round.
 * - nightshift: the PostgreSQL Store as a worker calls it (dist/store/postgres/postgres-store.js, no HTTP), the way
 *   `tasks.work` and the API's complete with `next` use it: one `claimTask` to start, then per task one
 *   `completeTaskAndClaim` — the fenced complete and the next claim in one call of nightshift_complete_and_claim
 *   (migration 10), one round trip per task, as BullMQ's workers complete-and-fetch. C async loops share one store, so
 *   its own pool (5 connections, the product's default).
 * - ns-separate (only with --systems …,ns-separate): the same store, `claimTask` then `completeTask` for every task
 *   (two round trips per task): what a worker that does not ask for the next task gets.
 * - pg-boss: `fetch(queue, { batchSize: 1 })` then `complete(queue, id)`, C async loops on one PgBoss instance (its
 *   pool: 10 connections); supervise and schedule off (no maintenance timers in the timed window). Its `work()` is
 *   not measured: it sleeps `pollingIntervalSeconds` (≥ 0.5 s) after every fetch, so at batch size 1 it is bounded
 *   by 2 jobs/s per worker — a fetch loop is pg-boss's best case at batch size 1.
 * - graphile-worker: its own runner, `run({ concurrency: C, taskList: { noop } })` — C workers in one pool (its pool: 10
 *   connections + 1 for LISTEN), each fetching one job, running the no-op handler, completing it (not awaited: the
 *   worker fetches its next job while the DELETE runs). Timed from its first `worker:getJob:start` event to the moment
 *   its jobs table is seen empty after the last `job:complete` event (`with_startup_per_s` also counts run()'s start).
 * - raw: the limit: `WITH next AS (SELECT id FROM q WHERE state = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED
 *   LIMIT 1) UPDATE q … RETURNING`, then `UPDATE q SET state = 'done'`, each statement its own transaction, on a pool
 *   of C connections.
 *
 *
 * `--profile` also loads pg_stat_statements into the cluster (only with a private cluster) and prints, per system and
 * concurrency, the statements per task, their server time, and — sampled every 5 ms from pg_stat_activity during the
 * timed window — what the claimers' backends were doing (running, waiting on an advisory lock, idle in a transaction).
 *
 * Usage: node bench/pg-claims/claim-throughput.mjs [--runs 3] [--tasks 4000] [--concurrency 1,8]
 *          [--systems nightshift,pg-boss,graphile-worker,raw[,ns-separate]] [--profile] [--quick]   (--quick: 1 round, 1000 tasks)
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// graphile-worker formats a log line per job unless this is set (read when it loads); the logger is a no-op anyway.
process.env.NO_LOG_SUCCESS = '1';

const { DIST, ROOT, parseArgs, median, percentile, round, machine, printTable, emitJson, runMain } = await import('../lib.mjs');
const { startCluster } = await import('./cluster.mjs');

const QUEUE = 'bench';
const LIMITS = { concurrency: 1_000_000, rate: null, retries: 3, budget: null };
const LEASE_MS = 60_000;
const ALL_SYSTEMS = ['nightshift', 'pg-boss', 'graphile-worker', 'raw', 'ns-separate'];
const DEFAULT_SYSTEMS = ['nightshift', 'pg-boss', 'graphile-worker', 'raw'];

const args = parseArgs(
  { runs: 3, tasks: 4_000, concurrency: '1,8', systems: DEFAULT_SYSTEMS.join(','), profile: false },
  { runs: 1, tasks: 1_000 },
);
const levels = String(args.concurrency).split(',').map(Number);
const systems = String(args.systems).split(',');
for (const s of systems) if (!ALL_SYSTEMS.includes(s)) throw new Error(`unknown system ${s}; known: ${ALL_SYSTEMS.join(', ')}`);

const pg = createRequire(join(ROOT, 'package.json'))('pg');
const requireBench = createRequire(import.meta.url);
function benchDep(name) {
  try {
    return requireBench(name);
  } catch (err) {
    throw new Error(`${name} is not installed for this benchmark: run scripts/install-bench-deps.sh (installs bench/pg-claims/package.json) — ${err.message}`);
  }
}
const PgBoss = systems.includes('pg-boss') ? benchDep('pg-boss') : null;
const graphile = systems.includes('graphile-worker') ? benchDep('graphile-worker') : null;
const { openPostgresStore } = await import(join(DIST, 'store', 'postgres', 'postgres-store.js'));
const { newRunId } = await import(join(DIST, 'util', 'ids.js'));

const now = () => performance.now();
const payload = (i) => ({ n: i, url: `https://example.com/${i}` });
const claimRequest = () => ({ queue: QUEUE, now: new Date().toISOString(), lease_token: randomUUID(), lease_ms: LEASE_MS, claimed_by: 'bench', run_id: null, limits: LIMITS });
const dbUrl = (base, db) => {
  const url = new URL(base);
  url.pathname = `/${db}`;
  return url.toString();
};

/** Runs `count` async loops of `body` until each returns false; resolves with the total of true returns. */
async function loops(count, body) {
  let done = 0;
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (await body()) done += 1;
    }),
  );
  return done;
}

/** C async loops over `claim()` → item|null and `complete(item)`; records each step's latency. */
async function claimLoops(concurrency, claim, complete) {
  const claimMs = [];
  const completeMs = [];
  const start = now();
  const done = await loops(concurrency, async () => {
    const t0 = now();
    const item = await claim();
    const t1 = now();
    claimMs.push(t1 - t0);
    if (item === null) return false;
    await complete(item);
    completeMs.push(now() - t1);
    return true;
  });
  return { done, start, end: now(), claimMs, completeMs };
}

// ---- the systems: setup (not timed) → measure (timed) → verify → teardown ----

const SYSTEMS = {
  nightshift: {
    async setup(url, n) {
      const store = await openPostgresStore(url);
      await store.migrate();
      const at = new Date(Date.now() - 1000).toISOString();
      let next = 0;
      await loops(8, async () => {
        if (next >= n) return false;
        const i = next++;
        await store.enqueueTask({ id: newRunId(), queue: QUEUE, payload_json: JSON.stringify(payload(i)), priority: 0, run_at: at, key: null, created_at: at });
        return true;
      });
      await Promise.all(Array.from({ length: 8 }, () => store.countTasks())); // open the pool's connections
      return { store };
    },
    async measure({ store }, concurrency) {
      // The task a completion claimed, taken by the next claim of a loop (the loop that completed it, in practice).
      const fetched = [];
      return claimLoops(
        concurrency,
        async () => fetched.pop() ?? (await store.claimTask(claimRequest())).task,
        async (task) => {
          const step = await store.completeTaskAndClaim(task.id, { lease_token: task.lease_token }, '{"ok":true}', new Date().toISOString(), claimRequest());
          if (!step.completed.ok) throw new Error(`complete refused: ${step.completed.reason}`);
          if (step.next.task !== null) fetched.push(step.next.task);
        },
      );
    },
    async verify({ store }, n) {
      const counts = (await store.countTasks()).find((c) => c.queue === QUEUE);
      if (counts?.done !== n || counts.queued !== 0 || counts.running !== 0) throw new Error(`nightshift left ${JSON.stringify(counts)}`);
    },
    async teardown(ctx) {
      await ctx?.store?.close();
    },
  },

  'ns-separate': {
    setup: (url, n) => SYSTEMS.nightshift.setup(url, n),
    async measure({ store }, concurrency) {
      return claimLoops(
        concurrency,
        async () => (await store.claimTask(claimRequest())).task,
        async (task) => {
          const result = await store.completeTask(task.id, { lease_token: task.lease_token }, '{"ok":true}', new Date().toISOString());
          if (!result.ok) throw new Error(`complete refused: ${result.reason}`);
        },
      );
    },
    verify: (ctx, n) => SYSTEMS.nightshift.verify(ctx, n),
    teardown: (ctx) => SYSTEMS.nightshift.teardown(ctx),
  },

  'pg-boss': {
    async setup(url, n) {
      const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
      const ctx = { boss, url, closing: false };
      // DROP DATABASE … WITH (FORCE) after stop() ends connections pg-boss may still hold: not an error of the run.
      boss.on('error', (err) => ctx.closing || process.stderr.write(`pg-boss: ${err.message}\n`));
      await boss.start();
      await boss.createQueue(QUEUE);
      for (let i = 0; i < n; i += 1000) {
        await boss.insert(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: QUEUE, data: payload(i + k) })));
      }
      await Promise.all(Array.from({ length: 10 }, () => boss.getQueueSize(QUEUE))); // open the pool's connections
      return ctx;
    },
    async measure({ boss }, concurrency) {
      return claimLoops(
        concurrency,
        async () => (await boss.fetch(QUEUE, { batchSize: 1 }))[0] ?? null,
        async (job) => {
          await boss.complete(QUEUE, job.id);
        },
      );
    },
    async verify({ url }, n) {
      const rows = await adminQuery(url, `SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state`, [QUEUE]);
      const completed = rows.find((r) => r.state === 'completed')?.n ?? 0;
      if (completed !== n || rows.length !== 1) throw new Error(`pg-boss left ${JSON.stringify(rows)}`);
    },
    async teardown(ctx) {
      if (ctx) ctx.closing = true;
      await ctx?.boss?.stop({ graceful: false, wait: true, close: true });
    },
  },

  'graphile-worker': {
    async setup(url, n) {
      const logger = new graphile.Logger(() => () => {});
      const utils = await graphile.makeWorkerUtils({ connectionString: url, logger });
      try {
        await utils.migrate();
        for (let i = 0; i < n; i += 1000) {
          await utils.addJobs(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ identifier: 'noop', payload: payload(i + k) })));
        }
      } finally {
        await utils.release();
      }
      return { url, logger, n };
    },
    async measure(ctx, concurrency) {
      const events = new EventEmitter();
      let first = null;
      let completes = 0;
      let failed = null;
      let allDone;
      const allCompleted = new Promise((resolve) => (allDone = resolve));
      events.on('worker:getJob:start', () => (first ??= now()));
      events.on('job:complete', ({ error }) => {
        if (error) failed = error;
        if (++completes === ctx.n) allDone();
      });
      const called = now();
      ctx.runner = await graphile.run({
        connectionString: ctx.url,
        concurrency,
        noHandleSignals: true,
        pollInterval: 2000,
        taskList: { noop: async () => {} },
        logger: ctx.logger,
        events,
      });
      await allCompleted;
      if (failed) throw failed;
      // Completions are not awaited by the worker: the last ones may still be in flight. The end is when none is left.
      const probe = new pg.Client({ connectionString: ctx.url });
      await probe.connect();
      let end;
      try {
        while ((await probe.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs')).rows[0].n > 0) await sleep(1);
        end = now();
      } finally {
        await probe.end();
      }
      await ctx.runner.stop();
      ctx.runner = null;
      return { done: completes, start: first, end, called, claimMs: [], completeMs: [] };
    },
    async verify({ url }) {
      const [row] = await adminQuery(url, 'SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
      if (row.n !== 0) throw new Error(`graphile-worker left ${row.n} jobs`);
    },
    async teardown(ctx) {
      await ctx?.runner?.stop();
    },
  },

  raw: {
    async setup(url, n, concurrency) {
      const pool = new pg.Pool({ connectionString: url, max: concurrency });
      pool.on('error', () => {});
      await pool.query(`CREATE TABLE q (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'queued', payload text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
      await pool.query(`CREATE INDEX q_queued ON q (id) WHERE state = 'queued'`);
      await pool.query(`INSERT INTO q (payload) SELECT json_build_object('n', i, 'url', 'https://example.com/' || i)::text FROM generate_series(0, $1 - 1) i`, [n]);
      await pool.query('ANALYZE q');
      await Promise.all(Array.from({ length: concurrency }, () => pool.query('SELECT 1'))); // open the connections
      return { pool, url };
    },
    async measure({ pool }, concurrency) {
      const CLAIM = `WITH next AS (SELECT id FROM q WHERE state = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
        UPDATE q SET state = 'running', updated_at = now() FROM next WHERE q.id = next.id RETURNING q.id, q.payload`;
      const DONE = `UPDATE q SET state = 'done', updated_at = now() WHERE id = $1 AND state = 'running'`;
      return claimLoops(
        concurrency,
        async () => (await pool.query(CLAIM)).rows[0] ?? null,
        async (row) => {
          if ((await pool.query(DONE, [row.id])).rowCount !== 1) throw new Error('raw: complete found no running row');
        },
      );
    },
    async verify({ url }, n) {
      const rows = await adminQuery(url, `SELECT state, count(*)::int AS n FROM q GROUP BY state`);
      if (rows.length !== 1 || rows[0].state !== 'done' || rows[0].n !== n) throw new Error(`raw left ${JSON.stringify(rows)}`);
    },
    async teardown(ctx) {
      await ctx?.pool?.end();
    },
  },
};

const finiteOrNull = (x) => (Number.isFinite(x) ? x : null);

async function adminQuery(url, text, values) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

// ---- profiling (--profile): pg_stat_statements and pg_stat_activity samples of the timed window ----

async function sampleActivity(admin, db, stopAt) {
  const tally = { samples: 0, active: 0, advisory_wait: 0, lock_wait_other: 0, idle_in_tx: 0, idle: 0 };
  while (!stopAt.stopped) {
    const { rows } = await admin.query(
      `SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      [db],
    );
    tally.samples += 1;
    for (const r of rows) {
      if (r.wait_event_type === 'Lock' && r.wait_event === 'advisory') tally.advisory_wait += 1;
      else if (r.wait_event_type === 'Lock') tally.lock_wait_other += 1;
      else if (r.state === 'active') tally.active += 1;
      else if (r.state === 'idle in transaction') tally.idle_in_tx += 1;
      else tally.idle += 1;
    }
    await sleep(5);
  }
  const per = (x) => round(x / Math.max(1, tally.samples), 2);
  return { samples: tally.samples, backends_active: per(tally.active), waiting_advisory: per(tally.advisory_wait), waiting_other_lock: per(tally.lock_wait_other), idle_in_transaction: per(tally.idle_in_tx), idle: per(tally.idle) };
}

async function statementStats(admin, db, n) {
  const { rows } = await admin.query(
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::int, total_exec_time AS ms
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 AND calls > 0 ORDER BY calls DESC, ms DESC`,
    [db],
  );
  const calls = rows.reduce((s, r) => s + r.calls, 0);
  const ms = rows.reduce((s, r) => s + r.ms, 0);
  return {
    statements_per_task: round(calls / n, 2),
    server_ms_per_task: round(ms / n, 3),
    top: rows.slice(0, 12).map((r) => ({ per_task: round(r.calls / n, 2), us_each: round((r.ms * 1000) / r.calls, 1), query: r.query.slice(0, 110) })),
  };
}

// ---- the run ----

await runMain(async () => {
  const info = machine();
  const given = process.env.NIGHTSHIFT_BENCH_DATABASE_URL;
  if (args.profile && given) throw new Error('--profile needs the private cluster (it loads pg_stat_statements); unset NIGHTSHIFT_BENCH_DATABASE_URL');
  const cluster = given ? null : await startCluster({ extraOptions: args.profile ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] : [] });
  const baseUrl = given ?? cluster.url;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  if (args.profile) await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  process.stdout.write(`PostgreSQL ${serverVersion} at ${given ? '(NIGHTSHIFT_BENCH_DATABASE_URL)' : baseUrl}; ${args.tasks} tasks per measurement, ${args.runs} round(s), concurrency ${levels.join(',')}\n`);
  const versions = {
    'pg-boss': PgBoss ? requireBench('pg-boss/package.json').version : null,
    'graphile-worker': graphile ? requireBench('graphile-worker/package.json').version : null,
    pg: createRequire(join(ROOT, 'package.json'))('pg/package.json').version,
  };

  const rounds = []; // { round, system, concurrency, per_s, ... }
  const profiles = {};
  try {
    for (let r = 0; r < args.runs; r++) {
      for (const concurrency of levels) {
        const order = systems.map((_, i) => systems[(i + r) % systems.length]);
        for (const system of order) {
          const db = `bench_${system.replace(/-/g, '_')}_${r}_${concurrency}`;
          await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
          await admin.query(`CREATE DATABASE ${db}`);
          const url = dbUrl(baseUrl, db);
          const impl = SYSTEMS[system];
          let ctx = null;
          try {
            ctx = await impl.setup(url, args.tasks, concurrency);
            // Planner statistics for the freshly filled tables, as autovacuum gives a queue in a steady state (without
            // them pg-boss's fetch took ~2 ms of server time in a first trial, a plan the steady state would not have).
            await adminQuery(url, 'ANALYZE');
            const loadBefore = (await import('node:os')).loadavg()[0];
            const sampler = { stopped: false };
            let activity = null;
            if (args.profile) {
              await admin.query('SELECT pg_stat_statements_reset()');
              activity = sampleActivity(admin, db, sampler);
            }
            const cpuBefore = process.cpuUsage();
            const result = await impl.measure(ctx, concurrency);
            const cpu = process.cpuUsage(cpuBefore);
            sampler.stopped = true;
            if (result.done !== args.tasks) throw new Error(`${system} handled ${result.done} of ${args.tasks}`);
            await impl.verify(ctx, args.tasks);
            const seconds = (result.end - result.start) / 1000;
            const row = {
              round: r + 1,
              system,
              concurrency,
              per_s: Math.round(args.tasks / seconds),
              seconds: round(seconds, 2),
              with_startup_per_s: result.called === undefined ? null : Math.round(args.tasks / ((result.end - result.called) / 1000)),
              claim_p50_ms: finiteOrNull(round(percentile(result.claimMs, 50), 2)),
              claim_p99_ms: finiteOrNull(round(percentile(result.claimMs, 99), 2)),
              complete_p50_ms: finiteOrNull(round(percentile(result.completeMs, 50), 2)),
              // CPU of this Node process (the queue's client code, pg, and for graphile-worker its whole runner) per task.
              client_cpu_us_per_task: Math.round((cpu.user + cpu.system) / args.tasks),
              load1: round(loadBefore, 2),
            };
            rounds.push(row);
            process.stdout.write(
              `round ${row.round} c=${concurrency} ${system.padEnd(15)} ${String(row.per_s).padStart(6)} tasks/s (${row.seconds} s; ${
                row.claim_p50_ms !== null
                  ? `claim p50 ${row.claim_p50_ms} ms p99 ${row.claim_p99_ms} ms, complete p50 ${row.complete_p50_ms} ms`
                  : `with run()'s start ${row.with_startup_per_s} tasks/s`
              }; client CPU ${row.client_cpu_us_per_task} µs/task; load ${row.load1})\n`,
            );
            if (args.profile) {
              const key = `${system} c=${concurrency}`;
              profiles[key] = { activity: await activity, statements: await statementStats(admin, db, args.tasks) };
            }
          } finally {
            await impl.teardown(ctx);
            await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
          }
        }
      }
    }
  } finally {
    await admin.end();
    cluster?.stop();
  }

  const results = {};
  for (const concurrency of levels) {
    const bySystem = {};
    for (const system of systems) {
      const mine = rounds.filter((x) => x.system === system && x.concurrency === concurrency);
      bySystem[system] = {
        per_s: Math.round(median(mine.map((x) => x.per_s))),
        rounds: mine.map((x) => x.per_s),
        claim_p50_ms: finiteOrNull(round(median(mine.map((x) => x.claim_p50_ms).filter(Number.isFinite)), 2)),
        complete_p50_ms: finiteOrNull(round(median(mine.map((x) => x.complete_p50_ms).filter(Number.isFinite)), 2)),
        client_cpu_us_per_task: Math.round(median(mine.map((x) => x.client_cpu_us_per_task))),
      };
    }
    const ns = bySystem.nightshift?.per_s;
    results[concurrency] = {
      ...bySystem,
      ratio_vs_pg_boss: bySystem['pg-boss'] && ns ? round(ns / bySystem['pg-boss'].per_s, 2) : null,
      ratio_vs_graphile_worker: bySystem['graphile-worker'] && ns ? round(ns / bySystem['graphile-worker'].per_s, 2) : null,
      ratio_vs_raw: bySystem.raw && ns ? round(ns / bySystem.raw.per_s, 2) : null,
    };
  }
  const header = ['concurrency', ...systems.map((s) => `${s} /s`), 'ns/pg-boss', 'ns/graphile', 'ns/raw'];
  const table = [header];
  for (const [c, res] of Object.entries(results)) table.push([c, ...systems.map((s) => res[s].per_s), res.ratio_vs_pg_boss ?? '-', res.ratio_vs_graphile_worker ?? '-', res.ratio_vs_raw ?? '-']);
  process.stdout.write(`\nmedian of ${args.runs} round(s), tasks/s:\n`);
  printTable(table);
  const detail = [['concurrency', 'system', 'tasks/s', 'rounds', 'claim p50 ms', 'complete p50 ms', 'client CPU µs/task']];
  for (const [c, res] of Object.entries(results)) {
    for (const s of systems) detail.push([c, s, res[s].per_s, res[s].rounds.join(' '), res[s].claim_p50_ms ?? '-', res[s].complete_p50_ms ?? '-', res[s].client_cpu_us_per_task]);
  }
  printTable(detail);
  const comparable = systems.includes('nightshift') && systems.includes('pg-boss') && systems.includes('graphile-worker');
  const goalMet = comparable && Object.values(results).every((res) => res.ratio_vs_pg_boss >= 2 && res.ratio_vs_graphile_worker >= 1);
  process.stdout.write(`goal (nightshift ≥ 2 × pg-boss and ≥ graphile-worker at every concurrency): ${comparable ? (goalMet ? 'met' : 'NOT met') : 'not measured (a system was left out)'}\n`);
  if (args.profile) {
    for (const [key, p] of Object.entries(profiles)) {
      process.stdout.write(`\nprofile ${key}: ${p.statements.statements_per_task} statements/task, ${p.statements.server_ms_per_task} ms server time/task; backends (mean over ${p.activity.samples} samples): active ${p.activity.backends_active}, waiting on an advisory lock ${p.activity.waiting_advisory}, on another lock ${p.activity.waiting_other_lock}, idle in transaction ${p.activity.idle_in_transaction}, idle ${p.activity.idle}\n`);
      for (const t of p.statements.top) process.stdout.write(`  ${String(t.per_task).padStart(5)}/task ${String(t.us_each).padStart(7)} µs  ${t.query}\n`);
    }
  }
  emitJson({ bench: 'pg-claim-throughput', goal_met: goalMet, tasks: args.tasks, runs: args.runs, server: serverVersion, versions, results, rounds, profiles: args.profile ? profiles : undefined, machine: info });
});
