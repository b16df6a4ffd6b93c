/**
 * Schedule start jitter: how late a per-second schedule's runs start. Goal: p99 ≤ 25 ms over 1,000 fires.
 *
 * Why: a scheduler that drifts or stalls (seed 001: cron silently stopped) shows up first as start latency. This runs
 * the real daemon (`nightshift up`, the shipped dist/ code) with JOBS per-second jobs (`* * * * * *`) for
 * FIRES/JOBS seconds, so 1,000 fires take ~200 s instead of 1,000 s. Several jobs firing in the same second is also
 * the harder case: the scheduler starts them one after the other within one tick.
 *
 * Measured per fire, from the state database (read-only, after the daemon stopped):
 *   store jitter   = started_at − scheduled_at (the daemon's own record; 1 ms resolution)
 *   process jitter = the time the job's process itself printed (`date +%s%N`, read back from the job's log)
 *                    − scheduled_at, i.e. store jitter plus the spawn/exec cost.
 * Also counted: fires that were skipped or missing (gaps in scheduled_at), which should be 0.
 *
 * Usage: node bench/schedule-jitter.mjs [--runs 3] [--jobs 5] [--fires 1000] [--quick]
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DIST, parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, stopChild, sleep, percentile, round,
  medianOfRuns, machine, printTable, emitJson, runMain,
} from './lib.mjs';

const { openStore } = await import(join(DIST, 'store', 'open.js'));

const args = parseArgs({ runs: 3, jobs: 5, fires: 1000 }, { runs: 1, jobs: 2, fires: 20 });
const perJob = Math.ceil(args.fires / args.jobs);

async function oneRun(index) {
  const dir = makeTempDir('jitter');
  const port = await freePort();
  const names = Array.from({ length: args.jobs }, (_, i) => `tick${i + 1}`);
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-jitter',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      'jobs:',
      ...names.map((n) => `  ${n}: { command: [date, "+%s%N"], schedule: "* * * * * *", timeout: 10s }`),
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon(configPath, port, join(dir, 'daemon.log'));
  // perJob fires need perJob seconds; 3 s more so the last wanted fire has surely ended before the stop.
  await sleep((perJob + 3) * 1000);
  const exit = await stopChild(daemon);
  if (exit.code !== 0) throw new Error(`the daemon exited with ${exit.code ?? exit.signal}`);

  const store = await openStore({ kind: 'sqlite', path: join(dir, 'state', 'state.db') }, { readonly: true });
  await store.migrate();
  const storeJitter = [];
  const procJitter = [];
  let skipped = 0;
  const skipReasons = {};
  let missing = 0;
  let notSucceeded = 0;
  const perJobP50 = [];
  for (const job of names) {
    const before = storeJitter.length;
    const runs = (await store.listRuns({ job, limit: 100_000 }))
      .filter((r) => r.trigger === 'schedule')
      .sort((a, b) => Date.parse(a.scheduled_at) - Date.parse(b.scheduled_at))
      .slice(0, perJob);
    if (runs.length < perJob) missing += perJob - runs.length;
    const printed = printedTimes(join(dir, 'state', 'logs', job, `${job}.log`));
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i];
      const due = Date.parse(run.scheduled_at);
      if (i > 0) missing += Math.max(0, Math.round((due - Date.parse(runs[i - 1].scheduled_at)) / 1000) - 1);
      if (run.status === 'skipped') {
        skipped++;
        skipReasons[run.reason] = (skipReasons[run.reason] ?? 0) + 1;
      }
      else if (run.status !== 'succeeded') notSucceeded++;
      if (run.started_at) storeJitter.push(Date.parse(run.started_at) - due);
      const at = printed.get(run.id);
      if (at !== undefined) procJitter.push(at - due);
    }
    perJobP50.push(percentile(storeJitter.slice(before), 50));
  }
  await store.close();
  removeTempDir(dir);
  const result = {
    run: index + 1,
    fires: storeJitter.length + skipped,
    skipped,
    skip_reasons: skipReasons,
    missing,
    not_succeeded: notSucceeded,
    p50: percentile(storeJitter, 50),
    p90: percentile(storeJitter, 90),
    p99: percentile(storeJitter, 99),
    max: Math.max(...storeJitter),
    proc_n: procJitter.length,
    proc_p50: round(percentile(procJitter, 50)),
    proc_p99: round(percentile(procJitter, 99)),
    proc_max: round(Math.max(...procJitter)),
    // Jobs fire in config order within one scheduler tick: this shows what each start waits for the ones before it.
    p50_by_job: perJobP50,
  };
  return result;
}

/** Run id → the wall time (ms, µs precision) the job's `date +%s%N` printed, from the job's log records. */
function printedTimes(logFile) {
  const out = new Map();
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [, runId, stream, value] = line.split(' ');
    if (stream === 'o' && /^\d{19}$/.test(value ?? '')) out.set(runId, Number(BigInt(value) / 1000n) / 1000);
  }
  return out;
}

await runMain(async () => {
  const info = machine();
  process.stdout.write(
    `schedule-jitter: ${args.runs} run(s), ${args.jobs} per-second jobs × ${perJob} s = ${args.jobs * perJob} fires per run\n`,
  );
  const runs = [];
  for (let i = 0; i < args.runs; i++) {
    runs.push(await oneRun(i));
    const r = runs.at(-1);
    process.stdout.write(`  run ${r.run}: ${r.fires} fires, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, p50 by job ${r.p50_by_job.join('/')} ms, skipped ${r.skipped}${r.skipped ? ` ${JSON.stringify(r.skip_reasons)}` : ''}, missing ${r.missing}\n`);
  }
  const fields = ['fires', 'skipped', 'missing', 'not_succeeded', 'p50', 'p90', 'p99', 'max', 'proc_p50', 'proc_p99', 'proc_max'];
  const med = medianOfRuns(runs, fields);
  printTable([
    ['run', 'fires', 'skipped', 'missing', 'p50', 'p90', 'p99', 'max', 'proc p50', 'proc p99', 'proc max'],
    ...runs.map((r) => [r.run, r.fires, r.skipped, r.missing, r.p50, r.p90, r.p99, r.max, r.proc_p50, r.proc_p99, r.proc_max]),
    ['median', med.fires, med.skipped, med.missing, med.p50, med.p90, med.p99, med.max, med.proc_p50, med.proc_p99, med.proc_max],
  ]);
  const goalMet = med.p99 <= 25 && runs.every((r) => r.skipped === 0 && r.missing === 0);
  process.stdout.write(`goal p99 ≤ 25 ms, no skipped or missing fires: ${goalMet ? 'met' : 'NOT met'} (jitter in ms, store = started_at − scheduled_at)\n`);
  emitJson({ bench: 'schedule-jitter', args, machine: info, runs, median: med, goal: { p99_ms: 25 }, goal_met: goalMet });
});
