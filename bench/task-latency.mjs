/**
 * Enqueue → start latency with an idle worker. Goal: p99 ≤ 20 ms.
 *
 * Why: a queue that hands work over by polling makes every task wait half a poll interval on average and burns CPU
 * while idle; nightshift's claim is a long-poll that the enqueue itself wakes (the daemon claims for the waiting worker
 * in the enqueue's wake-up, no timer in between).
 *
 * A real daemon (`nightshift up`, dist/) with one queue; in this process an SDK worker (`tasks.work`, concurrency 1)
 * long-polls it over HTTP, idle. Then, one at a time, a task is enqueued through the SDK (HTTP, API token) and the time
 * from just before the enqueue call to the handler's first line is taken; the next task goes only after the handler
 * has finished, a random 5–25 ms later, so the worker is idle and waiting each time. Per round: p50 and p99 over
 * --tasks tasks (after --warmup); reported: the median over --runs rounds.
 *
 * The floor, measured side by side in the same loop: the same two HTTP hops (a request, then the answer to another
 * one) to bench/reference-hono-ok.mjs — the same HTTP stack in its own process doing nothing — so what the machine
 * itself adds (a loaded 2-vCPU box delays any process by tens of ms) shows beside what nightshift adds.
 *
 * Usage: node bench/task-latency.mjs [--runs 3] [--tasks 500] [--warmup 20] [--quick]   (--quick: 1 round of 100)
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DIST, ROOT, parseArgs, makeTempDir, freePort, startDaemon, startChild, stopChild, waitForHttp, sleep, percentile, median, round, machine,
  printTable, emitJson, runMain,
} from './lib.mjs';

const args = parseArgs({ runs: 3, tasks: 500, warmup: 20 }, { runs: 1, tasks: 100, warmup: 10 });
const { createTasks } = await import(join(DIST, 'sdk', 'tasks.js'));
const GOAL_P99_MS = 20;
const REFERENCE = join(ROOT, 'bench', 'reference-hono-ok.mjs');

async function oneRound() {
  const dir = makeTempDir('task-latency');
  const port = await freePort();
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(configPath, `project: bench\nhttp: { listen: "127.0.0.1:${port}" }\nqueues:\n  q: { concurrency: 1 }\njobs: {}\n`);
  const daemon = await startDaemon(configPath, port, join(dir, 'daemon.log'));
  const refPort = await freePort();
  const refLog = join(dir, 'reference.log');
  const reference = startChild(process.execPath, [REFERENCE, String(refPort)], { logFile: refLog });
  await waitForHttp(`http://127.0.0.1:${refPort}/`, { child: reference, logFile: refLog });
  const refUrl = `http://127.0.0.1:${refPort}/`;
  try {
    const token = readFileSync(join(dir, '.nightshift', 'api-token'), 'utf8').trim();
    const api = createTasks(() => ({ url: `http://127.0.0.1:${port}`, token, runId: null }));
    let started = null;
    let finished = null;
    const worker = api.work('q', async () => {
      started?.(performance.now());
    });
    const samples = [];
    const floor = [];
    for (let i = 0; i < args.warmup + args.tasks; i++) {
      const startedAt = new Promise((resolve) => (started = resolve));
      await sleep(5 + Math.random() * 20); // idle: the worker is back in its long-poll
      const t0 = performance.now();
      await api.enqueue('q', { i });
      const t1 = await startedAt;
      await sleep(5 + Math.random() * 20);
      const r0 = performance.now();
      await (await fetch(refUrl)).text();
      await (await fetch(refUrl)).text();
      const r1 = performance.now();
      if (i >= args.warmup) {
        samples.push(t1 - t0);
        floor.push(r1 - r0);
      }
    }
    finished = worker.stop();
    await finished;
    return {
      p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples),
      floor_p50: percentile(floor, 50), floor_p99: percentile(floor, 99),
    };
  } finally {
    await stopChild(reference);
    await stopChild(daemon);
  }
}

await runMain(async () => {
  const info = machine();
  const rounds = [];
  for (let i = 0; i < args.runs; i++) {
    rounds.push(await oneRound());
    const r = rounds.at(-1);
    process.stdout.write(`round ${i + 1}: p50 ${round(r.p50, 2)} ms, p99 ${round(r.p99, 2)} ms, max ${round(r.max, 2)} ms; floor p50 ${round(r.floor_p50, 2)} ms, p99 ${round(r.floor_p99, 2)} ms\n`);
  }
  const p50 = median(rounds.map((r) => r.p50));
  const p99 = median(rounds.map((r) => r.p99));
  const floorP50 = median(rounds.map((r) => r.floor_p50));
  const floorP99 = median(rounds.map((r) => r.floor_p99));
  printTable([
    ['', 'p50 ms', 'p99 ms'],
    ['enqueue → handler start', round(p50, 2), round(p99, 2)],
    ['floor: 2 HTTP hops to a bare hono server', round(floorP50, 2), round(floorP99, 2)],
  ]);
  const goalMet = p99 <= GOAL_P99_MS;
  process.stdout.write(`goal (p99 ≤ ${GOAL_P99_MS} ms): ${goalMet ? 'met' : 'NOT met'}\n`);
  emitJson({ bench: 'task-latency', goal_met: goalMet, p50_ms: round(p50, 2), p99_ms: round(p99, 2), floor_p50_ms: round(floorP50, 2), floor_p99_ms: round(floorP99, 2), rounds, tasks: args.tasks, runs: args.runs, machine: info });
});
