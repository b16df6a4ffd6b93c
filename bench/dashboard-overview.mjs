/**
 * Dashboard overview render time with 100 jobs and 100,000 runs in history. Goal: ≤ 100 ms server-side (median).
 *
 * Why: the overview is the page someone opens when something is wrong, on the same 1-vCPU VPS that is busy running
 * the jobs; it is also re-fetched on every event while it is open, so its cost is paid again and again.
 *
 * Setup: a state.db holding JOBS × HISTORY finished runs (written through the store API of dist/, as the daemon would:
 * startRun + finishRun, one run a minute going back in time, every tenth one failed), a config with those JOBS (daily
 * schedules that do not come due during the benchmark) and a check, and the daemon (`nightshift up`) on it. Then, per
 * run of the benchmark, N sequential `GET /` over loopback (after WARMUP unmeasured ones), each timed two ways:
 *   render: the daemon's own `Server-Timing: render;dur=…` (gathering from the store + rendering the HTML), and
 *   request: wall time of the whole request as the client sees it.
 * Also printed: the page's size with that many jobs, and SQLite's query plans for the queries the overview makes
 * per job (they must use an index, not scan 100,000 runs).
 *
 * Usage: node bench/dashboard-overview.mjs [--runs 3] [--n 30] [--warmup 5] [--jobs 100] [--history 1000] [--quick]
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, stopChild, percentile, median, round,
  medianOfRuns, machine, printTable, emitJson, runMain, fillHistory,
} from './lib.mjs';


const args = parseArgs({ runs: 3, n: 30, warmup: 5, jobs: 100, history: 1000 }, { runs: 1, n: 5, warmup: 1, history: 50 });


/** SQLite's plan for the per-job queries of the overview (strip and status), as text. */
function queryPlans(dbPath) {
  const db = new Database(dbPath, { readonly: true });
  try {
    const plan = (sql, ...params) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((r) => r.detail).join('; ');
    return {
      runs_of_job: plan('SELECT * FROM runs WHERE job = ? ORDER BY id DESC LIMIT 14', 'job001'),
      runs_of_job_by_status: plan("SELECT * FROM runs WHERE job = ? AND status IN ('running') ORDER BY id DESC LIMIT 1", 'job001'),
      open_incidents: plan("SELECT * FROM incidents WHERE state = 'open' ORDER BY id DESC LIMIT 200"),
    };
  } finally {
    db.close();
  }
}

/** One GET /: the daemon's render time (Server-Timing) and the request's wall time, in ms, and the body size. */
async function getOverview(url) {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.arrayBuffer();
  const wall = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET / answered ${res.status}`);
  const render = Number(/render;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]);
  if (!Number.isFinite(render)) throw new Error('GET / carried no Server-Timing render duration');
  return { render, wall, bytes: body.byteLength, html: new TextDecoder().decode(body) };
}

await runMain(async () => {
  const info = machine();
  const dir = makeTempDir('dashboard');
  const port = await freePort();
  const jobs = Array.from({ length: args.jobs }, (_, i) => `job${String(i + 1).padStart(3, '0')}`);
  const hour = (new Date().getHours() + 12) % 24;
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-dashboard',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      // Keep the whole seeded history: the default keep_runs (1000) would prune nothing here, but say so.
      `history: { keep_runs: ${Math.max(1000, args.history)}, max_age: 3650d }`,
      'jobs:',
      ...jobs.map((j) => `  ${j}: { command: [true], schedule: "0 ${hour} * * *" }`),
      'checks:',
      '  backup: { every: 1d, grace: 1h }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  const dbPath = join(dir, 'state', 'state.db');
  process.stdout.write(`dashboard-overview: filling state.db with ${args.jobs} jobs × ${args.history} runs … `);
  const t0 = performance.now();
  await fillHistory(dbPath, jobs, args.history);
  process.stdout.write(`${Math.round(performance.now() - t0)} ms\n`);
  const plans = queryPlans(dbPath);
  for (const [name, plan] of Object.entries(plans)) process.stdout.write(`  plan ${name}: ${plan}\n`);

  const daemon = await startDaemon(configPath, port, join(dir, 'daemon.log'));
  const url = `http://127.0.0.1:${port}/`;
  const runs = [];
  let bytes = 0;
  try {
    for (let r = 0; r < args.runs; r++) {
      for (let i = 0; i < args.warmup; i++) await getOverview(url);
      const render = [];
      const wall = [];
      for (let i = 0; i < args.n; i++) {
        const one = await getOverview(url);
        render.push(one.render);
        wall.push(one.wall);
        bytes = one.bytes;
        if (i === 0 && !one.html.includes(`href="/jobs/${jobs.at(-1)}"`)) throw new Error('the overview does not list every job');
      }
      const row = {
        run: r + 1,
        render_median: round(median(render)),
        render_p90: round(percentile(render, 90)),
        request_median: round(median(wall)),
        request_p90: round(percentile(wall, 90)),
      };
      runs.push(row);
      process.stdout.write(`  run ${row.run}: render ${row.render_median} ms (p90 ${row.render_p90}), request ${row.request_median} ms (p90 ${row.request_p90})\n`);
    }
  } finally {
    await stopChild(daemon);
  }
  removeTempDir(dir);
  const med = medianOfRuns(runs, ['render_median', 'render_p90', 'request_median', 'request_p90']);
  printTable([
    ['run', 'render median', 'render p90', 'request median', 'request p90'],
    ...[...runs, { ...med, run: 'median' }].map((r) => [r.run, r.render_median, r.render_p90, r.request_median, r.request_p90]),
  ]);
  process.stdout.write(`overview page with ${args.jobs} jobs: ${bytes} bytes of HTML (+ the cached stylesheet and script)\n`);
  const goalMet = med.render_median <= 100;
  process.stdout.write(`goal overview render ≤ 100 ms (median, server-side): ${goalMet ? 'met' : 'NOT met'}\n`);
  emitJson({ bench: 'dashboard-overview', args, machine: info, plans, html_bytes: bytes, runs, median: med, goal: { render_median_ms: 100 }, goal_met: goalMet });
});
