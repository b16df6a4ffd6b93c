/**
 * Shared helpers for the benchmarks in bench/: argument parsing, statistics, temp dirs, child processes (started and
 * ended by pid, cleaned up on failure too), the daemon, /proc sampling, and the machine description.
 *
 * Benchmarks import the shipped code from dist/ (build first: `npx tsc -p tsconfig.build.json`).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The build under test: ./dist, or NIGHTSHIFT_DIST=/other/checkout/dist (a clean build of one commit, when dist/ of a
 * shared checkout may be rebuilt from someone's uncommitted work in the middle of a run).
 */
export const DIST = process.env.NIGHTSHIFT_DIST ? resolve(process.env.NIGHTSHIFT_DIST) : join(ROOT, 'dist');
export const CLI = join(DIST, 'cli', 'main.js');
export { sleep };

if (!existsSync(CLI)) {
  process.stderr.write(`bench: ${CLI} is missing; build first: npx tsc -p tsconfig.build.json\n`);
  process.exit(2);
}

/** `--runs N`, `--quick`, and any other `--name value` / `--flag`; values are numbers when they look like one. */
export function parseArgs(defaults, quickDefaults = {}) {
  const given = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) given[name] = true;
    else {
      given[name] = /^-?\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  for (const name of Object.keys(given)) {
    if (name !== 'quick' && !(name in defaults)) throw new Error(`unknown option --${name}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')} --quick`);
  }
  return { ...defaults, ...(given.quick ? quickDefaults : {}), ...given, quick: Boolean(given.quick) };
}

// ---- statistics ----

/** Nearest-rank percentile (p in 0..100) of numbers; NaN for none. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds to `digits` decimals (keeps the JSON short). */
export function round(value, digits = 1) {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** For a list of per-run result objects, the median of each numeric field. */
export function medianOfRuns(runs, fields) {
  const out = {};
  for (const field of fields) out[field] = round(median(runs.map((r) => r[field]).filter(Number.isFinite)), 2);
  return out;
}

// ---- cleanup: temp dirs and child processes we started ----

const tempDirs = new Set();
const children = new Set();
const cleanupHooks = new Set();

/** Registers a synchronous cleanup step (e.g. killing grandchildren by pid) for cleanupAll; returns its remover. */
export function onCleanup(hook) {
  cleanupHooks.add(hook);
  return () => cleanupHooks.delete(hook);
}

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), `nightshift-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Runs the cleanup hooks, kills (by pid, SIGKILL) every child still registered, removes every temp dir. Idempotent. */
export function cleanupAll() {
  for (const hook of cleanupHooks) {
    try {
      hook();
    } catch {
      // best effort: the other steps must still run
    }
  }
  cleanupHooks.clear();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

/** Runs `main`; on any failure cleans up, prints the error and exits 1. */
export async function runMain(main) {
  try {
    await main();
  } catch (error) {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    cleanupAll();
    process.exit(1);
  }
}

/**
 * Spawns a child that is killed by pid if the benchmark fails or exits before it. Output goes to `logFile`, or with
 * `stdio: 'pipe'` stdin/stdout are pipes (stderr is inherited).
 */
export function startChild(file, args, { logFile, env = process.env, cwd = ROOT, stdio } = {}) {
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(file, args, { cwd, env, stdio: stdio === 'pipe' ? ['pipe', 'pipe', 'inherit'] : ['ignore', fd, fd] });
  if (typeof fd === 'number') closeSync(fd);
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** SIGTERM by pid, then SIGKILL after `graceMs` if it is still there. Resolves with the exit. */
export async function stopChild(child, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, graceMs);
  const exit = await child.exited;
  clearTimeout(timer);
  return exit;
}

// ---- network and the daemon ----

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200; throws after `timeoutMs` or when `child` exits first. */
export async function waitForHttp(url, { timeoutMs = 20_000, child = null, logFile = null } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`the process exited before ${url} answered${logFile ? `:\n${tail(logFile)}` : ''}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms${logFile ? `:\n${tail(logFile)}` : ''}`);
    await sleep(50);
  }
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts `nightshift up -c <config>` (the shipped CLI) and waits for /healthz. Its stdout/stderr go to `logFile`. */
export async function startDaemon(configPath, port, logFile) {
  const child = startChild(process.execPath, [CLI, 'up', '-c', configPath], { logFile });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, { child, logFile });
  return child;
}

// ---- /proc sampling ----

let clockTicks = null;
/** Clock ticks per second (utime/stime units), from getconf; 100 on practically every Linux. */
export function clkTck() {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function statusField(text, name) {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/**
 * One sample of a process: RSS and peak RSS (kB), CPU ticks (utime+stime of all threads), context switches summed
 * over /proc/PID/task/* (voluntary = the thread went to sleep and was woken, i.e. wakeups), and the main thread's.
 */
export function sampleProc(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ") ": state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  let voluntary = 0;
  let involuntary = 0;
  let mainVoluntary = NaN;
  let threads = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    threads++;
    const v = statusField(text, 'voluntary_ctxt_switches');
    voluntary += v;
    involuntary += statusField(text, 'nonvoluntary_ctxt_switches');
    if (Number(tid) === pid) mainVoluntary = v;
  }
  return {
    at: performance.now(),
    rssKb: statusField(status, 'VmRSS'),
    hwmKb: statusField(status, 'VmHWM'),
    cpuTicks,
    voluntary,
    involuntary,
    mainVoluntary,
    threads,
  };
}

/** Whether `pid` runs (a zombie or a missing pid is dead); with `startTime`, also that it is still that process. */
export function isAlive(pid, startTime = null) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return false;
  return startTime === null || Number(fields[19]) === startTime;
}

// ---- reporting ----

/** What the numbers were measured on; printed with every result. */
export function machine() {
  const run = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', cwd: dirname(DIST), stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const dirty = run('git', ['status', '--porcelain', '--', 'src']);
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? null,
    mem_total_mb: Math.round(os.totalmem() / 2 ** 20),
    mem_available_mb: Math.round(Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024),
    loadavg: os.loadavg().map((l) => round(l, 2)),
    node: process.version,
    kernel: os.release(),
    dist: DIST,
    // The commit of the checkout that holds DIST, and whether its src/ differs from it (then dist/ may too).
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    src_dirty: dirty === null ? null : dirty.length > 0,
  };
}

/** Prints a fixed-width table: `rows` is an array of arrays, the first one the header. */
export function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const row of rows) process.stdout.write(`${row.map((c, i) => String(c).padStart(widths[i])).join('  ')}\n`);
}

/** The one JSON line of results (bench/run.mjs collects lines that start with `{"bench":`). */
export function emitJson(result) {
  const loadEnd = os.loadavg().map((l) => round(l, 2));
  process.stdout.write(`load average at the end: ${loadEnd.join(' ')} (at the start: ${result.machine?.loadavg?.join(' ')})\n`);
  process.stdout.write(`${JSON.stringify({ ...result, load_end: loadEnd })}\n`);
}

/**
 * A webhook receiver on 127.0.0.1 that records each POST as its body completes: `at` (Date.now()), `mono`
 * (performance.now()) and the parsed JSON `body` (null when it is not JSON). Answers 204.
 */
export async function startWebhookReceiver() {
  const received = [];
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const mono = performance.now();
      let body = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // recorded, unparsed
      }
      received.push({ at, mono, body });
      res.writeHead(204).end();
    });
  });
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { port, received, close };
}

/**
 * Fills a fresh SQLite state at `dbPath` with `history` finished runs per job, one a minute, the newest a minute ago,
 * every tenth failed — through the shipped Store, so the rows are what the daemon writes.
 */
export async function fillHistory(dbPath, jobs, history) {
  const { openStore } = await import(join(DIST, 'store', 'open.js'));
  const { newRunId } = await import(join(DIST, 'util', 'ids.js'));
  const store = await openStore({ kind: 'sqlite', path: dbPath });
  await store.migrate();
  const now = Date.now();
  for (const job of jobs) {
    for (let i = history; i >= 1; i--) {
      const at = now - i * 60_000;
      const id = newRunId(at);
      const run = { id, job, attempt: 1, chain_id: id, trigger: 'schedule', scheduled_at: new Date(at).toISOString(), node: 'bench' };
      const lock = { name: `job:${job}`, holder: { token: id, run_id: id, pid: process.pid, pid_start: null, node: 'bench' } };
      const started = await store.startRun(run, lock, new Date(at + 3).toISOString());
      if (!started.started) throw new Error(`could not start a history run of ${job}`);
      const failed = i % 10 === 0;
      await store.finishRun(id, {
        status: failed ? 'failed' : 'succeeded', reason: null, exit_code: failed ? 1 : 0, signal: null,
        ended_at: new Date(at + 1500).toISOString(),
      });
    }
  }
  await store.close();
}
