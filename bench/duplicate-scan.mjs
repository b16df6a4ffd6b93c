/**
 * Cost of one duplicate scan (src/watch/duplicates.ts, issue "containment" item 7). Goal: a few ms on a VPS with
 * ~300 processes — stated as: a scan of the real /proc that finds nothing, per 300 processes, has a median ≤ 5 ms.
 *
 * Why: the daemon scans every 30 s while a job runs, and once right before every run starts; on a 1-vCPU VPS at load
 * 7 (seed 001) that must be noise, not another load.
 *
 * Setup, per run of the benchmark:
 *   fixture   a fake host root with PROCESSES processes under <tmp>/proc (30% kernel threads with an empty cmdline,
 *             the rest python/node/sh/daemons with 2 KB environments), among them the jobs' own marked runs, one
 *             unmarked duplicate and one copy whose environ cannot be read; JOBS jobs (argv and shell) to look for.
 *   real      the real /proc of this machine, with one unmarked and one marked `node -e … <tag>` started by the
 *             benchmark, and the same jobs plus one for the tag: the second pass runs for both copies and walks the
 *             duplicate's ancestors (the cost while a process.duplicate incident is open).
 *   real, no candidates: the same /proc with only the fixture's jobs, which match nothing here: the first pass
 *             alone (the cost of a scan that finds nothing, the usual case; the goal is judged on it).
 * For each, SCANS scans (after 5 warm-up scans), interleaved with the references:
 *   naive     what a first version would do: read cmdline, environ and stat of every process with fs.promises.readFile
 *             (32 in flight), then match — the cost that reading only cmdline for all avoids.
 *   blocking  the same open, read and close of every cmdline, one after the other on the main thread: the reads
 *             without the thread-pool hand-off. The daemon must not do this (a read of a process stuck in the kernel
 *             would freeze it); it is the floor, and shows what the hand-off costs.
 * Reported: wall time median and p90, and CPU time (process.cpuUsage, all threads) per scan, per run; the summary is
 * the median over runs. The real scan includes one duplicate (the unmarked copy), so its second pass is exercised.
 * Wall times on a shared machine are pessimistic: each read is a hand-off to the libuv pool, whose threads wait for
 * a CPU when the load is high; the CPU time is the load-independent cost.
 *
 * Usage: node bench/duplicate-scan.mjs [--runs 3] [--scans 30] [--processes 1000] [--jobs 5] [--quick]
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import {
  DIST, parseArgs, makeTempDir, removeTempDir, startChild, stopChild, percentile, median, round, machine, printTable,
  emitJson, runMain,
} from './lib.mjs';

const { DuplicateScanner } = await import(join(DIST, 'watch', 'duplicates.js'));

const args = parseArgs({ runs: 3, scans: 30, processes: 1000, jobs: 5 }, { runs: 1, scans: 5 });
const GOAL_MS_PER_300 = 5;
const MARK = 'NIGHTSHIFT_RUN_ID=01BENCHRUN0000000000000000';
const ENV_PAD = `PAD=${'x'.repeat(2000)}`;

function statLine(pid, comm, { state = 'S', ppid = 1, pgid = pid, sid = pid, start = 5000 } = {}) {
  const fields = [state, ppid, pgid, sid, 0, -1, 4194560, ...Array(12).fill(0), start];
  return `${pid} (${comm}) ${fields.join(' ')} 0 0 18446744073709551615 0 0 0 0 0 0 0 0\n`;
}

function writeProc(root, p) {
  const dir = join(root, 'proc', String(p.pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cmdline'), p.argv.length ? `${p.argv.join('\0')}\0` : '');
  if (p.environ === null) mkdirSync(join(dir, 'environ'));
  else writeFileSync(join(dir, 'environ'), `${(p.environ ?? ['PATH=/usr/bin:/bin', 'HOME=/root', ENV_PAD]).join('\0')}\0`);
  writeFileSync(join(dir, 'stat'), statLine(p.pid, (p.argv[0] ?? 'kworker').split('/').pop().slice(0, 15), p));
  writeFileSync(join(dir, 'status'), `Name:\tx\nUid:\t0\t0\t0\t0\n`);
  writeFileSync(join(dir, 'cgroup'), '0::/system.slice\n');
  symlinkSync(p.cwd ?? '/', join(dir, 'cwd'));
}

/** The jobs to look for: the first two have runs (and copies) in the fixture, the rest match nothing. */
function benchJobs(count) {
  const jobs = [
    { name: 'ingest', command: { kind: 'argv', argv: ['python3', 'worker.py', '--queue', 'ingest'] }, cwd: '/opt/ingest' },
    { name: 'chat', command: { kind: 'shell', script: 'node bot.js --live' }, cwd: '/opt/chat' },
  ];
  for (let i = jobs.length; i < count; i++) {
    jobs.push(i % 2
      ? { name: `job${i}`, command: { kind: 'shell', script: `python3 run${i}.py --full` }, cwd: `/opt/job${i}` }
      : { name: `job${i}`, command: { kind: 'argv', argv: ['node', `job${i}.js`] }, cwd: `/opt/job${i}` });
  }
  return jobs.slice(0, count);
}

function makeFixture(count) {
  const root = makeTempDir('dupscan');
  mkdirSync(join(root, 'proc'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'proc', 'stat'), 'cpu 1 2 3 4\nbtime 1767225600\n');
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  for (const file of ['/opt/ingest/worker.py', '/opt/chat/bot.js']) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    writeFileSync(join(root, file), '');
  }
  const special = [
    { pid: 5000, argv: ['python3', 'worker.py', '--queue', 'ingest'], cwd: '/opt/ingest', environ: ['PATH=/bin', MARK, ENV_PAD] },
    { pid: 5001, argv: ['/usr/bin/python3', '/opt/ingest/worker.py', '--queue', 'ingest'], sid: 4999 },
    { pid: 5002, argv: ['python3', '/opt/ingest/worker.py', '--queue', 'ingest'], environ: null },
    { pid: 5100, argv: ['/bin/sh', '-c', 'node bot.js --live'], cwd: '/opt/chat', environ: [MARK, ENV_PAD] },
    { pid: 5101, argv: ['node', 'bot.js', '--live'], cwd: '/opt/chat', ppid: 5100, pgid: 5100, sid: 5100, environ: [MARK, ENV_PAD] },
  ];
  const kinds = [
    (i) => [],
    (i) => [],
    (i) => [],
    (i) => ['/usr/bin/python3', `/srv/app${i}/worker.py`, '--queue', `q${i}`],
    (i) => ['node', `/srv/web${i}/server.js`],
    (i) => ['/usr/sbin/sshd', '-D'],
    (i) => ['-bash'],
    (i) => ['/bin/sh', '-c', `sleep ${i}`],
    (i) => ['/usr/lib/postgresql/16/bin/postgres', '-D', '/var/lib/postgresql/16/main'],
    (i) => ['python3', 'worker.py', '--queue', `other${i}`],
  ];
  const procs = [{ pid: 1, argv: ['/sbin/init'], ppid: 0 }, { pid: 2, argv: [], ppid: 0 }];
  for (let i = 0; procs.length + special.length < count; i++) {
    const argv = kinds[i % kinds.length](i);
    procs.push({ pid: 100 + i, argv, ppid: argv.length ? 1 : 2, cwd: '/root' });
  }
  for (const p of [...procs, ...special]) writeProc(root, p);
  return root;
}

/** The reference: every file of every process, then the same matching in memory (argv only, literal). */
async function naiveScan(procRoot, jobs) {
  const pids = (await readdir(procRoot)).filter((n) => /^[1-9][0-9]*$/.test(n));
  const words = jobs.map((j) => (j.command.kind === 'argv' ? j.command.argv : j.command.script.split(' ')));
  let matched = 0;
  for (let i = 0; i < pids.length; i += 32) {
    await Promise.all(pids.slice(i, i + 32).map(async (pid) => {
      const read = (name) => readFile(join(procRoot, pid, name)).catch(() => null);
      const [cmdline, environ, stat] = await Promise.all([read('cmdline'), read('environ'), read('stat')]);
      if (!cmdline || !stat || !environ) return;
      const argv = cmdline.toString('utf8').split('\0').slice(0, -1);
      if (words.some((w) => w.length === argv.length && w.every((a, k) => k === 0 || a === argv[k]))) matched++;
    }));
  }
  return matched;
}

function blockingScan(procRoot) {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (const pid of readdirSync(procRoot)) {
    if (!/^[1-9][0-9]*$/.test(pid)) continue;
    let fd;
    try {
      fd = openSync(join(procRoot, pid, 'cmdline'), 'r');
    } catch {
      continue; // gone
    }
    try {
      readSync(fd, buffer, 0, buffer.length, null);
    } catch {
      // gone meanwhile
    } finally {
      closeSync(fd);
    }
  }
}

/** Wall and CPU time (all threads of this process: the libuv pool's reads included), in ms. */
async function timeIt(fn) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

const summary = (values) => ({ median: round(median(values), 2), p90: round(percentile(values, 90), 2) });

await runMain(async () => {
  const info = machine();
  const jobs = benchJobs(args.jobs);
  const tag = `worker-copy-bench-${process.pid}`;
  const realJobs = [...jobs, { name: 'tagged', command: { kind: 'argv', argv: ['node', '-e', 'setInterval(()=>{},1000)', tag] }, cwd: '/' }];
  const env = { ...process.env };
  delete env.NIGHTSHIFT_RUN_ID;
  const copies = [
    startChild(process.execPath, ['-e', 'setInterval(()=>{},1000)', tag], { env, cwd: '/' }),
    startChild(process.execPath, ['-e', 'setInterval(()=>{},1000)', tag], { env: { ...env, NIGHTSHIFT_RUN_ID: '01BENCHMARKEDCOPY000000000' }, cwd: '/' }),
  ];
  await new Promise((resolve) => setTimeout(resolve, 200));

  process.stdout.write(`duplicate-scan: ${args.runs} run(s) × ${args.scans} scans, fixture of ${args.processes} processes and the real /proc, ${realJobs.length} jobs\n`);
  const runs = [];
  for (let r = 0; r < args.runs; r++) {
    const root = makeFixture(args.processes);
    const fixtureScanner = new DuplicateScanner({ root, selfPid: 1 });
    const realScanner = new DuplicateScanner();
    const checkF = await fixtureScanner.scanWithStats(jobs);
    const checkR = await realScanner.scanWithStats(realJobs);
    const foundF = checkF.findings.flatMap((f) => f.pids.map((p) => `${f.job}:${p.pid}`));
    const foundR = checkR.findings.flatMap((f) => f.pids.map((p) => `${f.job}:${p.pid}`));
    if (foundF.join() !== 'ingest:5001') throw new Error(`fixture scan found ${foundF.join() || 'nothing'}, expected ingest:5001`);
    if (foundR.join() !== `tagged:${copies[0].pid}`) throw new Error(`real scan found ${foundR.join() || 'nothing'}, expected tagged:${copies[0].pid}`);
    for (let i = 0; i < 5; i++) {
      await fixtureScanner.scan(jobs);
      await realScanner.scan(realJobs);
      await naiveScan(join(root, 'proc'), jobs);
      await naiveScan('/proc', realJobs);
    }
    const t = { fixture: [], fixtureNaive: [], real: [], realNone: [], realNaive: [], realBlocking: [] };
    for (let i = 0; i < args.scans; i++) {
      t.fixture.push(await timeIt(() => fixtureScanner.scan(jobs)));
      t.fixtureNaive.push(await timeIt(() => naiveScan(join(root, 'proc'), jobs)));
      t.real.push(await timeIt(() => realScanner.scan(realJobs)));
      t.realNone.push(await timeIt(() => realScanner.scan(jobs)));
      t.realNaive.push(await timeIt(() => naiveScan('/proc', realJobs)));
      t.realBlocking.push(await timeIt(async () => blockingScan('/proc')));
    }
    removeTempDir(root);
    const wall = (list) => summary(list.map((x) => x.wall));
    const cpu = (list) => round(median(list.map((x) => x.cpu)), 2);
    const realProcesses = checkR.stats.processes;
    runs.push({
      run: r + 1,
      load: os.loadavg()[0],
      fixture_processes: checkF.stats.processes,
      fixture_candidates: checkF.stats.candidates,
      fixture: { ...wall(t.fixture), cpu: cpu(t.fixture) },
      fixture_naive: { ...wall(t.fixtureNaive), cpu: cpu(t.fixtureNaive) },
      real_processes: realProcesses,
      real_candidates: checkR.stats.candidates,
      real: { ...wall(t.real), cpu: cpu(t.real) },
      real_none: { ...wall(t.realNone), cpu: cpu(t.realNone) },
      real_naive: { ...wall(t.realNaive), cpu: cpu(t.realNaive) },
      real_blocking: { ...wall(t.realBlocking), cpu: cpu(t.realBlocking) },
      real_ms_per_300: round((median(t.realNone.map((x) => x.wall)) / realProcesses) * 300, 2),
      fixture_ms_per_300: round((median(t.fixture.map((x) => x.wall)) / checkF.stats.processes) * 300, 2),
    });
  }
  for (const child of copies) await stopChild(child, 1000);

  process.stdout.write('wall ms: median / p90; cpu ms: median\n');
  printTable([
    ['run', 'load', 'fixture procs', 'fixture', 'cpu', 'naive', 'real procs', 'real', 'cpu', 'no cand.', 'cpu', 'naive', 'blocking', 'no cand./300', 'fixture/300'],
    ...runs.map((r) => [
      r.run, round(r.load, 2), r.fixture_processes, `${r.fixture.median} / ${r.fixture.p90}`, r.fixture.cpu, r.fixture_naive.median,
      r.real_processes, `${r.real.median} / ${r.real.p90}`, r.real.cpu, `${r.real_none.median} / ${r.real_none.p90}`, r.real_none.cpu,
      r.real_naive.median, r.real_blocking.median, r.real_ms_per_300, r.fixture_ms_per_300,
    ]),
  ]);
  const med = (pick) => round(median(runs.map(pick)), 2);
  const result = {
    fixture_median_ms: med((r) => r.fixture.median),
    fixture_cpu_ms: med((r) => r.fixture.cpu),
    fixture_naive_median_ms: med((r) => r.fixture_naive.median),
    real_median_ms: med((r) => r.real.median),
    real_cpu_ms: med((r) => r.real.cpu),
    real_no_candidates_median_ms: med((r) => r.real_none.median),
    real_no_candidates_cpu_ms: med((r) => r.real_none.cpu),
    real_naive_median_ms: med((r) => r.real_naive.median),
    real_blocking_median_ms: med((r) => r.real_blocking.median),
    real_processes: med((r) => r.real_processes),
    real_ms_per_300: med((r) => r.real_ms_per_300),
    fixture_ms_per_300: med((r) => r.fixture_ms_per_300),
  };
  const goalMet = result.real_ms_per_300 <= GOAL_MS_PER_300;
  process.stdout.write(
    `median over runs: fixture ${result.fixture_median_ms} ms (cpu ${result.fixture_cpu_ms}) for ${args.processes} processes (naive ${result.fixture_naive_median_ms} ms); ` +
      `real /proc ${result.real_median_ms} ms (cpu ${result.real_cpu_ms}) for ${result.real_processes} processes, ` +
      `${result.real_no_candidates_median_ms} ms (cpu ${result.real_no_candidates_cpu_ms}) without candidates ` +
      `(naive ${result.real_naive_median_ms} ms, blocking ${result.real_blocking_median_ms} ms) → ` +
      `${result.real_ms_per_300} ms per 300 processes without candidates: goal ≤ ${GOAL_MS_PER_300} ms ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  emitJson({ bench: 'duplicate-scan', goal_met: goalMet, goal: `real /proc scan finding nothing ≤ ${GOAL_MS_PER_300} ms per 300 processes (median)`, args, result, runs, machine: info });
});
