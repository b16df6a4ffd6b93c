/**
 * `nightshift status` wall time, as a user at a shell sees it: spawn to exit. Goal: ≤ 150 ms.
 *
 * Why: status is what an operator types when something looks wrong, often on a loaded 1-vCPU VPS; it must answer at
 * once, with the daemon running (it asks the API) and without it (it reads state.db itself).
 *
 * Setup: a state.db holding JOBS × RUNS finished runs (written through the store API of dist/, as the daemon would:
 * startRun + finishRun, one run a minute going back in time), and a config with those JOBS (daily schedules that do
 * not come due during the benchmark). Then, per run of the benchmark, N times each, interleaved:
 *   (b) `node dist/cli/main.js status -c CFG` with no daemon,
 *   (a) the same with the daemon (`nightshift up`) running,
 *   floor: `node -e ""`, the bare cost of starting Node — the reference, measured side by side.
 * Reported: median and p90 of each, and status − floor (medians).
 *
 * Usage: node bench/status-time.mjs [--runs 3] [--n 20] [--jobs 20] [--history 1000] [--quick]
 */
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLI, parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, stopChild, percentile, median, round,
  medianOfRuns, machine, printTable, emitJson, runMain, fillHistory,
} from './lib.mjs';


const args = parseArgs({ runs: 3, n: 20, jobs: 20, history: 1000 }, { runs: 1, n: 5, history: 100 });

/** Spawn-to-exit wall time of one command, in ms; throws when it fails or prints the wrong thing. */
function timeCommand(argv, expect) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}: ${out}`));
      else if (expect && !expect.test(out)) reject(new Error(`${argv.join(' ')} printed something unexpected: ${out}`));
      else resolve(ms);
    });
  });
}


/** N × (floor, status) interleaved, so both see the same machine load. */
async function measure(configPath, expect) {
  const floor = [];
  const status = [];
  for (let i = 0; i < args.n; i++) {
    floor.push(await timeCommand(['-e', '']));
    status.push(await timeCommand([CLI, 'status', '-c', configPath], expect));
  }
  return { floor, status };
}

function summary(values) {
  return { median: round(median(values)), p90: round(percentile(values, 90)) };
}

await runMain(async () => {
  const info = machine();
  const dir = makeTempDir('status');
  const port = await freePort();
  const jobs = Array.from({ length: args.jobs }, (_, i) => `job${String(i + 1).padStart(2, '0')}`);
  const hour = (new Date().getHours() + 12) % 24;
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-status',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      'jobs:',
      ...jobs.map((j) => `  ${j}: { command: [true], schedule: "0 ${hour} * * *" }`),
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  process.stdout.write(`status-time: filling state.db with ${args.jobs} jobs × ${args.history} runs … `);
  const t0 = performance.now();
  await fillHistory(join(dir, 'state', 'state.db'), jobs, args.history);
  process.stdout.write(`${Math.round(performance.now() - t0)} ms\n`);
  process.stdout.write(`${args.runs} run(s) of ${args.n} × (node -e "", status) without the daemon, then the same with it\n`);

  const runs = [];
  for (let r = 0; r < args.runs; r++) {
    const without = await measure(configPath, /daemon not running/);
    const daemon = await startDaemon(configPath, port, join(dir, 'daemon.log'));
    const withDaemon = await measure(configPath, /daemon running/);
    await stopChild(daemon);
    const floor = [...without.floor, ...withDaemon.floor];
    const row = {
      run: r + 1,
      floor_median: summary(floor).median,
      floor_p90: summary(floor).p90,
      up_median: summary(withDaemon.status).median,
      up_p90: summary(withDaemon.status).p90,
      down_median: summary(without.status).median,
      down_p90: summary(without.status).p90,
    };
    row.up_minus_floor = round(row.up_median - row.floor_median);
    row.down_minus_floor = round(row.down_median - row.floor_median);
    runs.push(row);
    process.stdout.write(`  run ${row.run}: with daemon ${row.up_median} ms (p90 ${row.up_p90}), without ${row.down_median} ms (p90 ${row.down_p90}), node -e "" ${row.floor_median} ms\n`);
  }
  removeTempDir(dir);
  const med = medianOfRuns(runs, Object.keys(runs[0]).filter((k) => k !== 'run'));
  printTable([
    ['run', 'up median', 'up p90', 'down median', 'down p90', 'floor median', 'floor p90', 'up − floor', 'down − floor'],
    ...[...runs, { ...med, run: 'median' }].map((r) => [
      r.run, r.up_median, r.up_p90, r.down_median, r.down_p90, r.floor_median, r.floor_p90, r.up_minus_floor, r.down_minus_floor,
    ]),
  ]);
  const goalMet = med.up_median <= 150 && med.down_median <= 150;
  process.stdout.write(`goal status ≤ 150 ms (median, with and without the daemon): ${goalMet ? 'met' : 'NOT met'} (ms, spawn to exit)\n`);
  emitJson({ bench: 'status-time', args, machine: info, runs, median: med, goal: { median_ms: 150 }, goal_met: goalMet });
});
