/**
 * Whole-tree kill of hung runs: TREES runs, each a tree that will not die politely, all past their deadline.
 * Goal: 0 survivors, at run end and at deadline + kill_grace + 500 ms.
 *
 * Why: seed 003 (a hung subprocess ran for 7 days) and seed 002 (leftover Chrome renderers) — a timeout is only worth
 * something if everything the run started is gone afterwards, also when many runs time out at once.
 *
 * Each run is `runProcess()` from dist/runner/spawn-run.js (the code the daemon uses) on test/fixtures/tree-hang.sh:
 * a parent that honours SIGTERM, a grandchild in its group that ignores SIGTERM, and one that ignores SIGTERM and
 * left the group with setsid (pids in PIDFILE_DIR). timeout TIMEOUT ms, kill_grace GRACE ms, BATCH runs at a time.
 * Measured per tree, by a separate watcher process (bench/tree-watcher.mjs, so that the load under test cannot distort
 * the observations):
 *   survivors at run end      pidfile processes still alive when runProcess() resolved (a zombie counts as dead)
 *   survivors at check        the same at deadline + kill_grace + 500 ms (by the watcher's timer, which may run late:
 *                             its lateness is reported, and `trees not dead at check` counts from the 10 ms polls
 *                             the trees whose processes were not all gone at exactly deadline + kill_grace + 500 ms)
 *   deadline → all dead       when the three pidfile processes were all gone (polled every POLL ms)
 * and in this process: deadline → run end (when runProcess() resolved, after its own verification), and whether the
 * tree had printed "ready" (both grandchildren up) by its deadline.
 * After all runs: one scan of /proc for any process still carrying one of this benchmark's run markers (the trees'
 * `sleep` children included), which must find none. Anything found is then killed by pid (cleanup).
 *
 * Usage: node bench/tree-kill.mjs [--runs 3] [--trees 100] [--batch 100] [--timeout 1000] [--grace 1000] [--poll 10] [--quick]
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join, dirname } from 'node:path';
import {
  ROOT, DIST, parseArgs, makeTempDir, removeTempDir, startChild, sleep, percentile, median, round, medianOfRuns, isAlive,
  machine, printTable, emitJson, runMain, onCleanup,
} from './lib.mjs';

const { runProcess } = await import(join(DIST, 'runner', 'spawn-run.js'));

const args = parseArgs({ runs: 3, trees: 100, batch: 100, timeout: 1000, grace: 1000, poll: 10 }, { runs: 1, trees: 10, batch: 10 });
const FIXTURE = join(dirname(DIST), 'test', 'fixtures', 'tree-hang.sh'); // beside the build under test

const epochNow = () => performance.timeOrigin + performance.now();

/** One hung tree: starts it, tells the watcher its deadline, and resolves with the runner's result. */
async function oneTree(base, runId, watcher) {
  const dir = join(base, runId);
  mkdirSync(dir);
  let ready = false;
  let text = '';
  const output = {
    write(_stream, chunk) {
      if (ready) return;
      text += chunk.toString();
      if (/^ready$/m.test(text)) ready = true;
    },
    end() {},
  };
  let deadline = NaN;
  const ran = runProcess(
    {
      runId, job: 'bench-tree', command: { kind: 'argv', argv: [FIXTURE] }, cwd: dir,
      env: { ...process.env, PIDFILE_DIR: dir }, user: null, timeoutMs: args.timeout, killGraceMs: args.grace, output,
    },
    // The runner sets its deadline in this same synchronous step: spawn + timeout, on the monotonic clock.
    { onSpawn: () => (deadline = epochNow() + args.timeout) },
  );
  watcher.send({ type: 'tree', id: runId, dir, deadline, checkAt: deadline + args.grace + 500 });
  let readyAtDeadline = false;
  setTimeout(() => (readyAtDeadline = ready), Math.max(0, deadline - epochNow()));
  const result = await ran;
  const endedAt = epochNow();
  watcher.send({ type: 'ended', id: runId });
  return { id: runId, deadline, checkAt: deadline + args.grace + 500, endedBy: result.endedBy, runnerSurvivors: result.survivors, readyAtDeadline, endToMs: endedAt - deadline };
}

/** Starts bench/tree-watcher.mjs; `send` writes a message, `report` resolves with its final JSON. */
function startWatcher() {
  const child = startChild(process.execPath, [join(ROOT, 'bench', 'tree-watcher.mjs'), String(args.poll)], { stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  return {
    send: (msg) => child.stdin.write(`${JSON.stringify(msg)}\n`),
    report: async () => {
      child.stdin.end(`${JSON.stringify({ type: 'done' })}\n`);
      const exit = await child.exited;
      if (exit.code !== 0) throw new Error(`the tree watcher exited with ${exit.code ?? exit.signal}`);
      return JSON.parse(out);
    },
  };
}

/** Pids of live processes whose environment carries NIGHTSHIFT_RUN_ID=<prefix>… */
function markedProcesses(prefix) {
  const needle = Buffer.from(`NIGHTSHIFT_RUN_ID=${prefix}`);
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`);
      const at = environ.indexOf(needle);
      if (at !== -1 && (at === 0 || environ[at - 1] === 0) && isAlive(Number(name))) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function killPid(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/**
 * Cleanup of what the runner left (processes this benchmark started, found by their marker): SIGKILL by pid, again
 * until none is left, since a surviving shell loop may fork another `sleep` meanwhile.
 */
async function killMarked(prefix) {
  for (let pids = markedProcesses(prefix), attempt = 0; pids.length > 0 && attempt < 20; pids = markedProcesses(prefix), attempt++) {
    pids.forEach(killPid);
    await sleep(50);
  }
}

async function oneRun(index) {
  const base = makeTempDir('tree');
  const prefix = `bench-${randomUUID()}-`;
  // Should this benchmark fail half-way, the trees it started must not outlive it either.
  const removeCleanup = onCleanup(() => markedProcesses(prefix).forEach(killPid));
  const watcher = startWatcher();
  const trees = [];
  const t0 = performance.now();
  for (let start = 0; start < args.trees; start += args.batch) {
    const batch = [];
    for (let i = start; i < Math.min(args.trees, start + args.batch); i++) batch.push(oneTree(base, `${prefix}${i}`, watcher));
    trees.push(...(await Promise.all(batch)));
  }
  const wall = performance.now() - t0;
  const seen = await watcher.report();
  const leftovers = markedProcesses(prefix);
  await killMarked(prefix);
  removeCleanup();
  removeTempDir(base);
  for (const t of trees) Object.assign(t, seen[t.id]);
  const dead = trees.filter((t) => t.deadAt !== null).map((t) => t.deadAt - t.deadline);
  const ends = trees.map((t) => t.endToMs);
  return {
    run: index + 1,
    trees: trees.length,
    wall_s: round(wall / 1000, 1),
    timed_out: trees.filter((t) => t.endedBy === 'timed_out').length,
    ready_at_deadline: trees.filter((t) => t.readyAtDeadline).length,
    pids_found: trees.reduce((n, t) => n + t.pids, 0),
    survivors_at_end: trees.reduce((n, t) => n + t.atEnd, 0),
    survivors_at_check: trees.reduce((n, t) => n + t.atCheck, 0),
    trees_not_dead_at_check: trees.filter((t) => t.deadAt === null || t.deadAt > t.checkAt).length,
    check_late_max: round(Math.max(...trees.map((t) => t.checkLate))),
    runner_survivors: trees.reduce((n, t) => n + t.runnerSurvivors, 0),
    marked_leftovers: leftovers.length,
    never_all_dead: trees.length - dead.length,
    dead_p50: round(median(dead)),
    dead_p99: round(percentile(dead, 99)),
    dead_max: round(Math.max(...dead)),
    end_p50: round(median(ends)),
    end_p99: round(percentile(ends, 99)),
  };
}

await runMain(async () => {
  const info = machine();
  process.stdout.write(
    `tree-kill: ${args.runs} run(s) of ${args.trees} hung trees, ${args.batch} at a time, timeout ${args.timeout} ms, kill_grace ${args.grace} ms\n`,
  );
  const runs = [];
  for (let i = 0; i < args.runs; i++) {
    const r = await oneRun(i);
    runs.push(r);
    process.stdout.write(
      `  run ${r.run}: survivors ${r.survivors_at_end} at run end, ${r.survivors_at_check} at check, ${r.marked_leftovers} marked leftovers; ` +
        `${r.trees_not_dead_at_check} trees not all dead at deadline + grace + 500 ms (check ran up to ${r.check_late_max} ms late); ` +
        `deadline → all dead p50 ${r.dead_p50} ms, p99 ${r.dead_p99} ms (${r.ready_at_deadline}/${r.trees} trees ready at their deadline)\n`,
    );
  }
  const med = medianOfRuns(runs, Object.keys(runs[0]).filter((k) => k !== 'run'));
  printTable([
    ['run', 'ready', 'pids', 'surv@end', 'surv@check', 'trees@check', 'check late', 'marked left', 'dead p50', 'dead p99', 'dead max', 'end p50', 'end p99', 'wall s'],
    ...[...runs, { ...med, run: 'median' }].map((r) => [
      r.run, r.ready_at_deadline, r.pids_found, r.survivors_at_end, r.survivors_at_check, r.trees_not_dead_at_check, r.check_late_max, r.marked_leftovers,
      r.dead_p50, r.dead_p99, r.dead_max, r.end_p50, r.end_p99, r.wall_s,
    ]),
  ]);
  const goalMet = runs.every(
    (r) => r.survivors_at_end === 0 && r.survivors_at_check === 0 && r.trees_not_dead_at_check === 0 && r.marked_leftovers === 0 && r.never_all_dead === 0,
  );
  process.stdout.write(`goal 0 survivors (run end, deadline + grace + 500 ms): ${goalMet ? 'met' : 'NOT met'} (times in ms after each run's deadline)\n`);
  emitJson({ bench: 'tree-kill', args, machine: info, runs, median: med, goal: { survivors: 0 }, goal_met: goalMet });
});
