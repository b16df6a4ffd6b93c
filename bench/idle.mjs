/**
 * Idle cost of the daemon: RSS, CPU and wakeups while nothing is due. Goals: RSS within 15 MB of the reference,
 * CPU ≈ 0 % of one core, and wakeups no more often than the scheduler's documented 30 s maximum wait.
 *
 * Why: nightshift lives on 1–4 GB VPSes next to the jobs it supervises (seed: OOM during deploy, no swap); what it
 * costs while idle is taken from them all day.
 *
 * The daemon (`nightshift up`, dist/) runs with 20 jobs whose schedules do not fire during the window (daily, at a
 * time 12 hours away). Side by side, at the same time, runs the reference bench/reference-idle-server.mjs: bare Node +
 * better-sqlite3 on the same state.db + an HTTP listener on 127.0.0.1. After both are up and a settle period, each is
 * sampled from /proc at the start and the end of the window (nothing talks to them in between):
 *   RSS            VmRSS at the end (and its growth over the window)
 *   CPU            Δ(utime+stime) / window, in % of one core
 *   wakeups        Δ voluntary_ctxt_switches per minute, summed over /proc/PID/task/* (all threads) and for the main
 *                  thread alone (the event loop: timers, I/O callbacks)
 *
 * Usage: node bench/idle.mjs [--runs 3] [--seconds 300] [--settle 10] [--jobs 20] [--quick]   (--quick: 1 run of 30 s)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, startChild, stopChild, waitForHttp, sleep,
  sampleProc, clkTck, round, medianOfRuns, machine, printTable, emitJson, runMain,
} from './lib.mjs';

const args = parseArgs({ runs: 3, seconds: 300, settle: 10, jobs: 20 }, { runs: 1, seconds: 30, settle: 5 });
const REFERENCE = join(ROOT, 'bench', 'reference-idle-server.mjs');

/** What changed between two samples of one process over the window. */
function delta(start, end) {
  const minutes = (end.at - start.at) / 60_000;
  return {
    rss_mb: round(end.rssKb / 1024, 1),
    rss_growth_mb: round((end.rssKb - start.rssKb) / 1024, 2),
    hwm_mb: round(end.hwmKb / 1024, 1),
    cpu_pct: round(((end.cpuTicks - start.cpuTicks) / clkTck() / ((end.at - start.at) / 1000)) * 100, 3),
    wakeups_per_min: round((end.voluntary - start.voluntary) / minutes, 1),
    main_wakeups_per_min: round((end.mainVoluntary - start.mainVoluntary) / minutes, 1),
    threads: end.threads,
  };
}

async function oneRun(index) {
  const dir = makeTempDir('idle');
  const [port, refPort] = [await freePort(), await freePort()];
  const hour = (new Date().getHours() + 12) % 24; // a daily schedule that cannot come due in the window
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-idle',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      'jobs:',
      ...Array.from({ length: args.jobs }, (_, i) => `  job${String(i + 1).padStart(2, '0')}: { command: [true], schedule: "0 ${hour} * * *" }`),
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon(configPath, port, join(dir, 'daemon.log'));
  const refLog = join(dir, 'reference.log');
  const reference = startChild(process.execPath, [REFERENCE, join(dir, 'state', 'state.db'), String(refPort)], { logFile: refLog });
  await waitForHttp(`http://127.0.0.1:${refPort}/healthz`, { child: reference, logFile: refLog });

  await sleep(args.settle * 1000);
  const start = { daemon: sampleProc(daemon.pid), reference: sampleProc(reference.pid) };
  await sleep(args.seconds * 1000);
  const end = { daemon: sampleProc(daemon.pid), reference: sampleProc(reference.pid) };

  await Promise.all([stopChild(daemon), stopChild(reference)]);
  removeTempDir(dir);
  const d = delta(start.daemon, end.daemon);
  const r = delta(start.reference, end.reference);
  return {
    run: index + 1,
    seconds: round((end.daemon.at - start.daemon.at) / 1000, 1),
    rss_daemon_mb: d.rss_mb,
    rss_ref_mb: r.rss_mb,
    rss_diff_mb: round(d.rss_mb - r.rss_mb, 1),
    rss_growth_daemon_mb: d.rss_growth_mb,
    rss_growth_ref_mb: r.rss_growth_mb,
    cpu_daemon_pct: d.cpu_pct,
    cpu_ref_pct: r.cpu_pct,
    wakeups_daemon_per_min: d.wakeups_per_min,
    wakeups_ref_per_min: r.wakeups_per_min,
    main_wakeups_daemon_per_min: d.main_wakeups_per_min,
    main_wakeups_ref_per_min: r.main_wakeups_per_min,
    threads_daemon: d.threads,
    threads_ref: r.threads,
  };
}

await runMain(async () => {
  const info = machine();
  process.stdout.write(`idle: ${args.runs} run(s) of ${args.seconds} s (after ${args.settle} s settling), daemon with ${args.jobs} idle jobs vs reference\n`);
  const runs = [];
  for (let i = 0; i < args.runs; i++) {
    const r = await oneRun(i);
    runs.push(r);
    process.stdout.write(
      `  run ${r.run}: RSS ${r.rss_daemon_mb} vs ${r.rss_ref_mb} MB (+${r.rss_diff_mb}), CPU ${r.cpu_daemon_pct} vs ${r.cpu_ref_pct} %, ` +
        `wakeups/min ${r.wakeups_daemon_per_min} vs ${r.wakeups_ref_per_min} (main thread ${r.main_wakeups_daemon_per_min} vs ${r.main_wakeups_ref_per_min})\n`,
    );
  }
  const fields = Object.keys(runs[0]).filter((k) => k !== 'run');
  const med = medianOfRuns(runs, fields);
  printTable([
    ['run', 'RSS daemon', 'RSS ref', 'diff MB', 'CPU% daemon', 'CPU% ref', 'wake/min daemon', 'wake/min ref', 'main wake/min daemon', 'main wake/min ref'],
    ...[...runs, { ...med, run: 'median' }].map((r) => [
      r.run, r.rss_daemon_mb, r.rss_ref_mb, r.rss_diff_mb, r.cpu_daemon_pct, r.cpu_ref_pct,
      r.wakeups_daemon_per_min, r.wakeups_ref_per_min, r.main_wakeups_daemon_per_min, r.main_wakeups_ref_per_min,
    ]),
  ]);
  // The scheduler's own timer: at most one wakeup per 30 s = 2/min on the main thread (the reference's count is
  // the floor that Node itself costs, so it is allowed on top).
  const goals = {
    rss_within_15mb: med.rss_diff_mb <= 15,
    cpu_near_zero: med.cpu_daemon_pct < 0.1,
    main_wakeups_at_most_2_per_min_above_ref: med.main_wakeups_daemon_per_min - med.main_wakeups_ref_per_min <= 2,
  };
  process.stdout.write(`goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}\n`);
  emitJson({ bench: 'idle', args, machine: info, runs, median: med, goals, goal_met: Object.values(goals).every(Boolean) });
});
