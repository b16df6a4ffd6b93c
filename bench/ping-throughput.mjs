/**
 * Throughput and p99 latency of the Healthchecks.io-compatible ping endpoint under load. Goal: at least 50 % of the
 * reference's requests/s, and at least 10,000 requests/s.
 *
 * Why: a ping is the one request that outside scripts send on their own schedule (crontab lines, runitor, CI), and
 * nightshift answers it on the same event loop that fires jobs and kills hung trees; what a burst of pings costs
 * is taken from them.
 *
 * The daemon (`nightshift up`, dist/) runs with one check of a fixed uuid (with --checks N, N − 1 more that are never
 * pinged); side by side, at the same time, runs the reference bench/reference-hono-ok.mjs: the same HTTP stack (hono
 * + @hono/node-server) answering "OK" and doing nothing else. wrk (Debian package `wrk`:
 * scripts/install-bench-deps.sh) loads `GET /` on the reference and `GET /ping/<uuid>` on the daemon, alternating —
 * reference, daemon, reference, daemon … — after one warm-up each.
 * Per wrk run: requests/s and p50/p99 latency from wrk's `--latency` output, non-2xx answers and socket errors, and
 * the server's CPU time per request (Δ utime+stime from /proc over the run, divided by the requests), and the bytes the
 * daemon wrote to storage per ping (Δ write_bytes of /proc/PID/io: SQLite's WAL and checkpoints). Each ping the
 * daemon answers "OK" is a row in SQLite (the check keeps its last 100): after the runs the benchmark reads state.db
 * and fails if fewer pings were stored than were answered. Then, with no server running, the store calls the daemon
 * makes per ping are timed one by one through the build's store API (µs per call, no HTTP).
 *
 * With --profile, one more wrk run goes to a fresh daemon under `node --cpu-prof` (its numbers are not results: the
 * profiler slows it); the top self-time functions of that profile are printed, and the .cpuprofile is kept (path
 * printed; open it in Chrome DevTools).
 *
 * Usage: node bench/ping-throughput.mjs [--runs 5] [--seconds 10] [--warmup 3] [--threads 2] [--connections 32]
 *                                       [--checks 1] [--profile] [--quick]   (--quick: 1 round of 3 s)
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  CLI, DIST, ROOT, parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, startChild, stopChild, waitForHttp, sleep,
  sampleProc, clkTck, median, round, machine, printTable, emitJson, runMain,
} from './lib.mjs';

const args = parseArgs(
  { runs: 5, seconds: 10, warmup: 3, threads: 2, connections: 32, checks: 1, profile: false },
  { runs: 1, seconds: 3, warmup: 1 },
);
const { openStore } = await import(join(DIST, 'store', 'open.js'));

const REFERENCE = join(ROOT, 'bench', 'reference-hono-ok.mjs');
const UUID = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const GOAL_RATIO = 0.5;
const GOAL_RPS = 10_000;
/** The never-pinged checks that --checks adds. */
const otherCheck = (i) => `other${String(i + 1).padStart(4, '0')}`;

// ---- wrk ----

function requireWrk() {
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  if (probe.error) {
    throw new Error(`wrk is not installed (${probe.error.message}); run scripts/install-bench-deps.sh (Debian package wrk)`);
  }
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value, unit) {
  const factor = UNIT_MS[unit];
  if (factor === undefined) throw new Error(`wrk printed a latency in an unknown unit '${unit}'`);
  return Number(value) * factor;
}

/** Reads wrk's summary (run with --latency); throws when a line it needs is missing. */
function parseWrk(text) {
  const need = (re, what) => {
    const match = re.exec(text);
    if (!match) throw new Error(`no ${what} in wrk's output:\n${text}`);
    return match;
  };
  const total = need(/(\d+) requests in ([\d.]+)(us|ms|s|m),/, 'request count');
  const p50 = need(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m, '50% latency');
  const p99 = need(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m, '99% latency');
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    rps: Number(need(/Requests\/sec:\s+([\d.]+)/, 'Requests/sec')[1]),
    p50_ms: round(toMs(p50[1], p50[2]), 3),
    p99_ms: round(toMs(p99[1], p99[2]), 3),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socket_errors: sockets ? sockets.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/** Bytes a process has caused to be written to storage (/proc/PID/io write_bytes: page cache writeback, not sockets). */
function storageWriteBytes(pid) {
  return Number(/^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

/**
 * One wrk run against `url`, bounded by its duration + 30 s; with `server` (a child), its CPU µs and the bytes it
 * wrote to storage per request.
 */
async function runWrk(url, seconds, server = null) {
  const wrkArgs = [`-t${args.threads}`, `-c${args.connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url];
  const child = startChild('wrk', wrkArgs, { stdio: 'pipe' });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => (out += chunk));
  const closed = new Promise((resolve) => child.once('close', resolve));
  const guard = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, (seconds + 30) * 1000);
  const before = server === null ? null : { ...sampleProc(server.pid), written: storageWriteBytes(server.pid) };
  const exit = await child.exited;
  if (server !== null && (server.exitCode !== null || server.signalCode !== null)) {
    throw new Error(`the server under load (pid ${server.pid}) exited during the wrk run: ${server.exitCode ?? server.signalCode}`);
  }
  let after = null;
  try {
    after = server === null ? null : { ...sampleProc(server.pid), written: storageWriteBytes(server.pid) };
  } catch (error) {
    throw new Error(`the server under load (pid ${server.pid}) is gone after the wrk run: ${error.message}`);
  }
  await closed;
  clearTimeout(guard);
  if (exit.code !== 0) throw new Error(`wrk ${url} exited ${exit.code ?? exit.signal}:\n${out}`);
  const result = parseWrk(out);
  const cpuSeconds = before && after ? (after.cpuTicks - before.cpuTicks) / clkTck() : NaN;
  const written = before && after ? after.written - before.written : NaN;
  return {
    ...result,
    cpu_us_per_req: round((cpuSeconds / result.requests) * 1e6, 1),
    disk_kb_per_req: round(written / 1024 / result.requests, 2),
  };
}

// ---- the two servers ----

function writeConfig(dir, port) {
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-ping',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      'checks:',
      `  bench: { every: 1h, grace: 1h, uuid: ${UUID} }`,
      // --checks N: N − 1 more checks that are never pinged, to show how a ping's cost grows with the checks there are.
      ...Array.from({ length: args.checks - 1 }, (_, i) => `  ${otherCheck(i)}: { every: 1h, grace: 1h }`),
      '',
    ].join('\n'),
  );
  return configPath;
}

/** One ping by hand, to fail early (and clearly) if the route does not answer as the load will expect. */
async function expectOk(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  if (response.status !== 200 || text !== 'OK') throw new Error(`${url} answered ${response.status} '${text}', not 200 'OK'`);
}

/** Rows in the pings table: the highest id is how many were ever stored (trimming deletes only older ones). */
function storedPings(dbPath) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT coalesce(max(id), 0) AS stored, count(*) AS kept FROM pings').get();
    return { stored: row.stored, kept: row.kept };
  } finally {
    db.close();
  }
}

// ---- what a ping costs in SQLite, without HTTP ----

const STORE_OPS = 2000;

/**
 * The store calls the daemon makes for one success ping (src/watch/check-watcher.ts: pingByUuid → record → resolve
 * → evaluate), timed one by one through the build's store API on a fresh state.db with the same checks: µs per call,
 * the median of 3 passes of STORE_OPS calls each (after a warm-up). Nothing else runs meanwhile.
 */
async function storeCost() {
  const dir = makeTempDir('ping-store');
  const store = await openStore({ kind: 'sqlite', path: join(dir, 'state.db') });
  try {
    await store.migrate();
    const specs = [
      { name: 'bench', origin: 'config', uuid: UUID },
      ...Array.from({ length: args.checks - 1 }, (_, i) => ({ name: otherCheck(i), origin: 'config', uuid: null })),
    ];
    await store.syncChecks(specs, new Date().toISOString(), randomUUID);
    const now = () => new Date().toISOString();
    const calls = {
      find_check_by_uuid: () => store.findCheckByUuid(UUID),
      record_ping: () =>
        store.recordPing({ check: 'bench', kind: 'success', exit_code: null, rid: null, body: null, at: now(), keep: 100 }),
      resolve_incident: () => store.resolveIncident({ kind: 'check_down', subject: 'bench', at: now(), notify: [], notify_at: now() }),
      list_checks: () => store.listChecks(),
    };
    const out = {};
    for (const [name, call] of Object.entries(calls)) {
      for (let i = 0; i < 200; i++) await call();
      const passes = [];
      for (let pass = 0; pass < 3; pass++) {
        const t0 = performance.now();
        for (let i = 0; i < STORE_OPS; i++) await call();
        passes.push(((performance.now() - t0) * 1000) / STORE_OPS);
      }
      out[`${name}_us`] = round(median(passes), 1);
    }
    out.sum_us = round(Object.values(out).reduce((a, b) => a + b, 0), 1);
    return out;
  } finally {
    await store.close();
    removeTempDir(dir);
  }
}

// ---- the profile ----

/** Top functions by self time, in % of the busy samples ((idle) left out), from a .cpuprofile. */
function summariseProfile(file, top = 20) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const name = (n) => {
    const url = n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
    return `${n.callFrame.functionName || '(anonymous)'}${url ? ` ${url}:${n.callFrame.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node.callFrame.functionName === '(idle)') return;
    busy += dt;
    self.set(name(node), (self.get(name(node)) ?? 0) + dt);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { busy_s: round(busy / 1e6, 2), top: rows.map(([fn, us]) => ({ fn, pct: round((us / busy) * 100, 1) })) };
}

async function profileRun() {
  const dir = makeTempDir('ping-prof');
  const port = await freePort();
  const configPath = writeConfig(dir, port);
  const profDir = join(dir, 'prof');
  const logFile = join(dir, 'daemon.log');
  const daemon = startChild(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI, 'up', '-c', configPath], { logFile });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, { child: daemon, logFile });
  const url = `http://127.0.0.1:${port}/ping/${UUID}`;
  await expectOk(url);
  const load = await runWrk(url, args.seconds, daemon);
  await stopChild(daemon); // the profile is written as the daemon exits
  const [file] = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`the daemon wrote no .cpuprofile to ${profDir}`);
  const kept = join(os.tmpdir(), `nightshift-ping-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  copyFileSync(join(profDir, file), kept);
  removeTempDir(dir);
  return { load, kept, ...summariseProfile(kept) };
}

// ---- the benchmark ----

await runMain(async () => {
  requireWrk();
  const info = machine();
  process.stdout.write(
    `ping-throughput: ${args.runs} round(s) of wrk -t${args.threads} -c${args.connections} -d${args.seconds}s --latency, ` +
      `reference then daemon (${args.checks} check(s)), after a ${args.warmup} s warm-up of each\n`,
  );
  const dir = makeTempDir('ping');
  const [port, refPort] = [await freePort(), await freePort()];
  const daemon = await startDaemon(writeConfig(dir, port), port, join(dir, 'daemon.log'));
  const refLog = join(dir, 'reference.log');
  const reference = startChild(process.execPath, [REFERENCE, String(refPort)], { logFile: refLog });
  await waitForHttp(`http://127.0.0.1:${refPort}/`, { child: reference, logFile: refLog });

  const daemonUrl = `http://127.0.0.1:${port}/ping/${UUID}`;
  const refUrl = `http://127.0.0.1:${refPort}/`;
  await expectOk(daemonUrl);
  let answeredOk = 1;
  await runWrk(refUrl, args.warmup);
  const warm = await runWrk(daemonUrl, args.warmup);
  answeredOk += warm.requests - warm.non2xx;

  const runs = [];
  for (let i = 0; i < args.runs; i++) {
    await sleep(1000);
    const ref = await runWrk(refUrl, args.seconds, reference);
    await sleep(1000);
    const d = await runWrk(daemonUrl, args.seconds, daemon);
    answeredOk += d.requests - d.non2xx;
    const run = {
      run: i + 1,
      ref_rps: ref.rps,
      daemon_rps: d.rps,
      ratio: round(d.rps / ref.rps, 3),
      ref_p50_ms: ref.p50_ms,
      daemon_p50_ms: d.p50_ms,
      ref_p99_ms: ref.p99_ms,
      daemon_p99_ms: d.p99_ms,
      p99_ratio: round(d.p99_ms / ref.p99_ms, 2),
      ref_cpu_us_per_req: ref.cpu_us_per_req,
      daemon_cpu_us_per_req: d.cpu_us_per_req,
      daemon_disk_kb_per_req: d.disk_kb_per_req,
      ref_errors: ref.non2xx + ref.socket_errors,
      daemon_errors: d.non2xx + d.socket_errors,
    };
    runs.push(run);
    process.stdout.write(
      `  round ${run.run}: reference ${run.ref_rps} req/s (p99 ${run.ref_p99_ms} ms), daemon ${run.daemon_rps} req/s ` +
        `(p99 ${run.daemon_p99_ms} ms) = ${round(run.ratio * 100, 1)} %; CPU/request ${run.ref_cpu_us_per_req} vs ` +
        `${run.daemon_cpu_us_per_req} µs; daemon wrote ${run.daemon_disk_kb_per_req} KiB/ping to storage; ` +
        `errors ${run.ref_errors} / ${run.daemon_errors}\n`,
    );
  }

  const checks = await (await fetch(`http://127.0.0.1:${port}/api/v1/checks`)).json();
  await Promise.all([stopChild(daemon), stopChild(reference)]);
  const pings = storedPings(join(dir, 'state', 'state.db'));
  removeTempDir(dir);
  const state = checks.find((c) => c.name === 'bench')?.state ?? 'missing';
  if (pings.stored < answeredOk) throw new Error(`the daemon answered ${answeredOk} pings OK but stored ${pings.stored}`);

  const fields = Object.keys(runs[0]).filter((k) => k !== 'run');
  const med = Object.fromEntries(fields.map((f) => [f, round(median(runs.map((r) => r[f])), 3)]));
  printTable([
    [
      'round', 'ref req/s', 'daemon req/s', 'daemon/ref', 'ref p50 ms', 'daemon p50 ms', 'ref p99 ms', 'daemon p99 ms',
      'ref CPU µs/req', 'daemon CPU µs/req', 'daemon KiB/ping', 'errors ref/daemon',
    ],
    ...[...runs, { ...med, run: 'median' }].map((r) => [
      r.run, r.ref_rps, r.daemon_rps, r.ratio, r.ref_p50_ms, r.daemon_p50_ms, r.ref_p99_ms, r.daemon_p99_ms,
      r.ref_cpu_us_per_req, r.daemon_cpu_us_per_req, r.daemon_disk_kb_per_req, `${r.ref_errors}/${r.daemon_errors}`,
    ]),
  ]);
  process.stdout.write(
    `stored: ${pings.stored} pings for ${answeredOk} answered OK (${pings.kept} rows kept); check state after the load: ${state}\n`,
  );

  const store = await storeCost();
  process.stdout.write(
    `store calls per ping (dist store API, no HTTP, ${args.checks} check(s)): findCheckByUuid ${store.find_check_by_uuid_us} µs, ` +
      `recordPing ${store.record_ping_us} µs, resolveIncident ${store.resolve_incident_us} µs, listChecks ` +
      `${store.list_checks_us} µs; sum ${store.sum_us} µs ` +
      `(≤ ${Math.round(1e6 / store.sum_us)} pings/s on one core from SQLite alone)\n`,
  );

  let profile = null;
  if (args.profile) {
    profile = await profileRun();
    process.stdout.write(
      `profile (daemon under --cpu-prof: ${profile.load.rps} req/s, not a result): ${profile.busy_s} s busy; top self time:\n`,
    );
    for (const { fn, pct } of profile.top) process.stdout.write(`  ${String(pct).padStart(5)} %  ${fn}\n`);
    process.stdout.write(`kept: ${profile.kept}\n`);
  }

  const goals = {
    ratio_at_least_50pct: med.ratio >= GOAL_RATIO,
    at_least_10k_rps: med.daemon_rps >= GOAL_RPS,
    no_errors: runs.every((r) => r.daemon_errors === 0 && r.ref_errors === 0),
  };
  process.stdout.write(`goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}\n`);
  emitJson({
    bench: 'ping-throughput',
    args,
    machine: info,
    runs,
    median: med,
    pings: { ...pings, answered_ok: answeredOk, check_state: state },
    store,
    profile,
    goals,
    goal_met: Object.values(goals).every(Boolean),
  });
});
