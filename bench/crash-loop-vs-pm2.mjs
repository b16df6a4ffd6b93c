/**
 * A service that can never start, side by side: nightshift against PM2 with its defaults, on the same always-failing
 * command, at the same time, for MINUTES. Goals: nightshift uses ≤ 1 % of one core (itself and everything it starts),
 * and sends exactly one `crash_loop` alert (PM2 sends none).
 *
 * Why: a worker whose config is missing (seed 001: `KeyError: REDIS_URL`) exits at once, every time; a supervisor that
 * restarts it as fast as it can burns a core of a small VPS on interpreter starts, and one that gives up quietly
 * leaves the service down with nobody told.
 *
 * The command, for both: `<node> -e "console.error('KeyError: REDIS_URL'); process.exit(1)" <who>` (a Node start costs
 * real CPU, as the seed's Python worker does). The last argument, `nightshift` or `pm2`, is ignored by the script; it
 * only makes the two command lines differ: with identical ones nightshift's duplicate detection (docs/duplicates.md)
 * rightly reports PM2's copy as a `process.duplicate` of its job — correct, and beside the point here.
 *   nightshift  `nightshift up` (dist/) on a config with `jobs: { worker: { command: [...], restart: always } }` (its
 *               defaults: min_uptime 30 s, crash_loop after 5 quick exits, restarts 1 s doubling to 5 min) and a webhook
 *               channel to a receiver in this process on 127.0.0.1, which counts the POSTs.
 *   PM2         `pm2 start <node> --name worker --interpreter none -- -e "…" pm2`, nothing else (defaults: min_uptime
 *               1000 ms, max_restarts 16, no restart_delay, no exp_backoff_restart_delay), with PM2_HOME in a temp dir
 *               so no other PM2 is touched. PM2 is not a dependency: scripts/install-bench-deps.sh installs pm2@5 into
 *               PM2_PREFIX (default /tmp/nightshift-bench-pm2).
 * With `--up-first S` the command stays up S seconds on its first start and fails at once on every later one (the
 * last argument is then a marker file per supervisor in the temp dir): a service that worked and then began to crash-loop (a dependency went away).
 * S > 30 makes that first run a good one for nightshift (min_uptime) as well as for PM2 (which only ever gives up
 * within min_uptime × max_restarts = 16 s of `pm2 start`, lib/God.js).
 * Both are started at the same moment t0; the window is [t0, t0 + MINUTES]. Measured:
 *   restarts   nightshift: runs started in the window (GET /api/v1/jobs/worker/runs?limit=10000), restarts = runs − 1;
 *              PM2: `pm2 jlist` → restart_time and status, and the starts logged in PM2_HOME/pm2.log
 *   CPU        of the supervisor (nightshift's daemon; PM2's God daemon, PM2_HOME/pm2.pid) and all its descendants,
 *              from the supervisor's birth (start-up included) to the end of the window, in % of one core: the sum
 *              over the supervisor and every live descendant of utime+stime+cutime+cstime (/proc/PID/stat fields
 *              14–17; cutime/cstime hold the children already exited and reaped, so the fast-exiting workers count
 *              too). The `pm2` CLI processes are clients and not counted, as `nightshift status` would not be.
 *              Both are sampled every minute; the end sample is taken before the APIs are asked for counts.
 *   alerts     nightshift: `incident.opened` POSTs of kind `crash_loop` (and every POST); PM2: none (it has no
 *              notification channel; its `restart overlimit` event goes only to its local bus).
 *
 * Usage: node bench/crash-loop-vs-pm2.mjs [--minutes 10] [--up-first 0] [--quick]   (--quick: 1 minute)
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, stopChild, sleep, clkTck, round, isAlive, onCleanup,
  machine, printTable, emitJson, runMain,
  startWebhookReceiver,
} from './lib.mjs';

const args = parseArgs({ minutes: 10, 'up-first': 0 }, { minutes: 1 });
const UP_FIRST_S = args['up-first'];
const GOAL_CPU_PCT = 1;
const PM2_PREFIX = process.env.PM2_PREFIX ?? '/tmp/nightshift-bench-pm2';
const PM2_BIN = join(PM2_PREFIX, 'node_modules', '.bin', 'pm2');
const FAIL = "console.error('KeyError: REDIS_URL'); process.exit(1)";
/** With --up-first: the first start (no marker file argv[1] yet) creates it and fails only after UP_FIRST_S. */
const SCRIPT = UP_FIRST_S > 0
  ? `const fs = require('fs'); if (fs.existsSync(process.argv[1])) { ${FAIL} } ` +
    `fs.writeFileSync(process.argv[1], ''); setTimeout(() => { ${FAIL} }, ${UP_FIRST_S * 1000});`
  : FAIL;
/** The command for one supervisor (`who`: nightshift or pm2); with --up-first its last argument is its marker file. */
const commandFor = (who, dir) => [process.execPath, '-e', SCRIPT, UP_FIRST_S > 0 ? join(dir, `${who}.first`) : who];
const execFileAsync = promisify(execFile);

if (!existsSync(PM2_BIN)) {
  process.stderr.write(`bench: ${PM2_BIN} is missing; install it with scripts/install-bench-deps.sh (PM2_PREFIX=${PM2_PREFIX})\n`);
  process.exit(2);
}

// ---- CPU of a process tree ----

function statTimes(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ") ": ppid (field 4) is index 1; utime, stime, cutime, cstime (14–17) are indexes 11–14.
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/**
 * CPU ticks of `root` and everything under it so far: its own utime+stime, the children it has reaped (cutime+cstime),
 * and each live (or zombie) descendant's own and reaped ticks. The root is read last, so a child reaped during the
 * scan can be counted twice (never missed): at most one worker start too many, on the safe side for the goal.
 */
function treeTicks(root) {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === root) continue;
    try {
      table.set(Number(name), statTimes(name));
    } catch {
      // exited meanwhile
    }
  }
  const rootTimes = statTimes(root);
  const below = new Set([root]);
  let children = rootTimes.reaped;
  let descendants = 0;
  // Parents usually have lower pids, but not always (pid wrap): repeat until no new descendant is found.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, t] of table) {
      if (below.has(pid) || !below.has(t.ppid)) continue;
      below.add(pid);
      children += t.own + t.reaped;
      descendants++;
      grew = true;
    }
  }
  return { at: performance.now(), own: rootTimes.own, children, descendants };
}

const pct = (ticks, ms) => round((ticks / clkTck() / (ms / 1000)) * 100, 3);

// ---- the webhook receiver ----


// ---- PM2 in its own PM2_HOME ----

function pm2Env(home) {
  return { ...process.env, PM2_HOME: home };
}

/** pm2.log lines "<local time, ISO without zone>: PM2 log: …" → { ms since epoch, text } (parsed as local time too). */
function pm2LogEvents(home) {
  let text = '';
  try {
    text = readFileSync(join(home, 'pm2.log'), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d): PM2 (?:log|error): (.*)$/.exec(line);
    return m ? [{ ms: Date.parse(m[1]), text: m[2] }] : [];
  });
}

/** Starts, from pm2.log, and the moment PM2 gave up on the app (null if it did not). */
function pm2History(home, t0EpochMs) {
  const events = pm2LogEvents(home);
  const starts = events.filter((e) => /^App \[worker:\d+\] starting in/.test(e.text));
  const gaveUp = events.find((e) => /had too many unstable restarts/.test(e.text));
  return {
    starts_logged: starts.length,
    last_start_s: starts.length ? round((starts.at(-1).ms - t0EpochMs) / 1000, 0) : null,
    errored_at_s: gaveUp ? round((gaveUp.ms - t0EpochMs) / 1000, 0) : null,
    gave_up_line: gaveUp?.text ?? null,
  };
}

/** Ends this benchmark's PM2 (its God daemon and apps) through `pm2 kill`, then by pid if it is still there. */
function killPm2(home, godPid) {
  if (godPid !== null && isAlive(godPid)) {
    try {
      execFileSync(PM2_BIN, ['kill'], { env: pm2Env(home), stdio: 'ignore', timeout: 30_000 });
    } catch {
      // fall through to the pid
    }
  }
  if (godPid !== null && isAlive(godPid)) {
    try {
      process.kill(godPid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

// ---- nightshift ----

function writeConfig(dir, port, hookPort, command) {
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-crash-loop',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      'channels:',
      `  hook: { type: webhook, url: "http://127.0.0.1:${hookPort}/" }`,
      'alerts: { channels: [hook] }',
      'jobs:',
      // JSON is YAML: the command exactly as PM2 gets it.
      `  worker: { command: ${JSON.stringify(command)}, restart: always }`,
      '',
    ].join('\n'),
  );
  return configPath;
}

async function getJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

// ---- the run ----

await runMain(async () => {
  const info = machine();
  const pm2Version = JSON.parse(readFileSync(join(PM2_PREFIX, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  const windowMs = args.minutes * 60_000;
  process.stdout.write(
    `crash-loop-vs-pm2: ${args.minutes} min side by side, nightshift (${info.dist}) vs PM2 ${pm2Version} with its defaults\n` +
      `command: ${JSON.stringify(commandFor('<who>', '<dir>'))}${UP_FIRST_S > 0 ? ` (up ${UP_FIRST_S} s on its first start)` : ''}\n`,
  );

  const dir = makeTempDir('crash-loop');
  const pm2Home = join(dir, 'pm2-home');
  mkdirSync(pm2Home);
  const receiver = await startWebhookReceiver();
  let daemon = null;
  let godPid = null;
  const readGodPid = () => {
    try {
      return Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  // Registered before anything starts, so a failure at any point still ends this PM2 (cleanupAll runs hooks first).
  const removeHook = onCleanup(() => killPm2(pm2Home, godPid ?? readGodPid()));
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const nightshiftCommand = commandFor('nightshift', dir);
    const pm2Command = commandFor('pm2', dir);
    const configPath = writeConfig(dir, port, receiver.port, nightshiftCommand);

    // t0: both start now. The nightshift daemon is the process spawned here; PM2's God daemon is spawned by `pm2 start`.
    const t0 = performance.now();
    const t0Epoch = Date.now();
    const [daemonChild, pm2Start] = await Promise.all([
      startDaemon(configPath, port, join(dir, 'daemon.log')).then((child) => ({ child, readyMs: performance.now() - t0 })),
      execFileAsync(PM2_BIN, ['start', pm2Command[0], '--name', 'worker', '--interpreter', 'none', '--', ...pm2Command.slice(1)], {
        env: pm2Env(pm2Home),
        cwd: dir,
        timeout: 60_000,
      }).then(() => ({ readyMs: performance.now() - t0 })),
    ]);
    daemon = daemonChild.child;
    godPid = readGodPid();
    if (godPid === null || !isAlive(godPid)) throw new Error(`no PM2 God daemon after pm2 start (${join(pm2Home, 'pm2.pid')})`);
    process.stdout.write(
      `ready: nightshift daemon pid ${daemon.pid} after ${Math.round(daemonChild.readyMs)} ms, PM2 God daemon pid ${godPid} after ` +
        `${Math.round(pm2Start.readyMs)} ms (PM2_HOME ${pm2Home})\n`,
    );
    const ready = { nightshift: treeTicks(daemon.pid), pm2: treeTicks(godPid) };

    // One sample a minute (and at the end), from /proc only: nothing asks the supervisors anything until the end.
    const samples = [];
    for (let minute = 1; ; minute++) {
      const at = Math.min(minute * 60_000, windowMs);
      await sleep(Math.max(0, t0 + at - performance.now()));
      const s = { t_s: round(at / 1000, 0), nightshift: treeTicks(daemon.pid), pm2: treeTicks(godPid) };
      samples.push(s);
      const history = pm2History(pm2Home, t0Epoch);
      const alerts = receiver.received.filter((r) => r.body?.event === 'incident.opened' && r.body?.incident?.kind === 'crash_loop').length;
      process.stdout.write(
        `  ${s.t_s} s: CPU so far nightshift ${pct(s.nightshift.own + s.nightshift.children, at)} %, PM2 ` +
          `${pct(s.pm2.own + s.pm2.children, at)} % of a core; PM2 starts ${history.starts_logged}` +
          `${history.errored_at_s !== null ? ` (errored at ${history.errored_at_s} s)` : ''}; crash_loop alerts ${alerts}\n`,
      );
      if (at >= windowMs) break;
    }
    const end = samples.at(-1);
    const endMs = end.nightshift.at - t0;

    // Counts, now that the CPU is sampled.
    const runs = await getJson(`${base}/api/v1/jobs/worker/runs?limit=10000`);
    const job = await getJson(`${base}/api/v1/jobs/worker`);
    const jlist = JSON.parse((await execFileAsync(PM2_BIN, ['jlist'], { env: pm2Env(pm2Home), maxBuffer: 64 * 2 ** 20 })).stdout);
    const app = jlist.find((p) => p.name === 'worker');
    if (!app) throw new Error('pm2 jlist has no app "worker"');
    const history = pm2History(pm2Home, t0Epoch);
    const windowEndEpoch = t0Epoch + endMs;
    const started = runs
      .filter((r) => r.started_at !== null && Date.parse(r.started_at) <= windowEndEpoch)
      .map((r) => ({ at_s: round((Date.parse(r.started_at) - t0Epoch) / 1000, 1), status: r.status, exit_code: r.exit_code, duration_ms: r.duration_ms }))
      .sort((a, b) => a.at_s - b.at_s);
    const posts = receiver.received.filter((r) => r.mono - t0 <= endMs);
    const crashLoopAlerts = posts.filter((r) => r.body?.event === 'incident.opened' && r.body?.incident?.kind === 'crash_loop');

    // Stop both: PM2 through `pm2 kill` on its own home, nightshift by pid.
    killPm2(pm2Home, godPid);
    removeHook();
    await stopChild(daemon);
    daemon = null;

    const split = (who) => {
      const e = end[who];
      const r = ready[who];
      const readyAt = r.at - t0;
      return {
        cpu_pct: pct(e.own + e.children, endMs),
        cpu_supervisor_pct: pct(e.own, endMs),
        cpu_children_pct: pct(e.children, endMs),
        cpu_seconds: round((e.own + e.children) / clkTck(), 2),
        startup_cpu_seconds: round(r.own / clkTck(), 2),
        cpu_after_ready_pct: pct(e.own + e.children - r.own - r.children, endMs - readyAt),
        cpu_by_minute_pct: samples.map((s, i) => {
          const prev = i === 0 ? { own: 0, children: 0, at: t0 } : samples[i - 1][who];
          return pct(s[who].own + s[who].children - prev.own - prev.children, s[who].at - prev.at);
        }),
      };
    };
    const nightshift = {
      state: job.state,
      runs: started.length,
      restarts: Math.max(0, started.length - 1),
      run_starts_s: started.map((r) => r.at_s),
      run_statuses: [...new Set(started.map((r) => `${r.status}/${r.exit_code}`))],
      crash_loop_alerts: crashLoopAlerts.length,
      crash_loop_alert_at_s: crashLoopAlerts.length ? round((crashLoopAlerts[0].mono - t0) / 1000, 1) : null,
      webhook_posts: posts.length,
      webhook_events: posts.map((r) => `${r.body?.event}:${r.body?.incident?.kind}`),
      ...split('nightshift'),
    };
    const pm2 = {
      version: pm2Version,
      defaults: { min_uptime_ms: 1000, max_restarts: 16, restart_delay_ms: 0, exp_backoff_restart_delay_ms: 0 },
      restarts: app.pm2_env.restart_time,
      status: app.pm2_env.status,
      starts_logged: history.starts_logged,
      last_start_s: history.last_start_s,
      errored_at_s: history.errored_at_s,
      alerts: 0,
      ...split('pm2'),
    };

    printTable([
      ['', 'starts', 'restarts', 'state at end', 'alerts', 'CPU % of a core', 'supervisor', 'children', 'CPU s', 'start-up CPU s', 'CPU % after ready'],
      ['nightshift', nightshift.runs, nightshift.restarts, nightshift.state, nightshift.crash_loop_alerts,
        nightshift.cpu_pct, nightshift.cpu_supervisor_pct, nightshift.cpu_children_pct, nightshift.cpu_seconds, nightshift.startup_cpu_seconds, nightshift.cpu_after_ready_pct],
      [`PM2 ${pm2Version}`, pm2.starts_logged, pm2.restarts, pm2.status, 0,
        pm2.cpu_pct, pm2.cpu_supervisor_pct, pm2.cpu_children_pct, pm2.cpu_seconds, pm2.startup_cpu_seconds, pm2.cpu_after_ready_pct],
    ]);
    process.stdout.write(
      `nightshift runs started at (s): ${nightshift.run_starts_s.join(', ')}; crash_loop alert at ${nightshift.crash_loop_alert_at_s} s; ` +
        `webhook POSTs: ${nightshift.webhook_events.join(', ') || 'none'}\n` +
        `PM2: ${pm2.starts_logged} starts, last at ${pm2.last_start_s} s; ${pm2.errored_at_s !== null ? `errored at ${pm2.errored_at_s} s ("${history.gave_up_line}")` : 'never gave up'}\n` +
        `CPU by minute (% of a core): nightshift ${nightshift.cpu_by_minute_pct.join(' ')} | PM2 ${pm2.cpu_by_minute_pct.join(' ')}\n`,
    );
    const goals = {
      nightshift_cpu_at_most_1pct: nightshift.cpu_pct <= GOAL_CPU_PCT,
      nightshift_one_crash_loop_alert: nightshift.crash_loop_alerts === 1,
    };
    process.stdout.write(`goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}\n`);
    emitJson({
      bench: 'crash-loop-vs-pm2',
      args,
      machine: info,
      command: commandFor('<who>', '<dir>'),
      window_s: round(endMs / 1000, 1),
      nightshift,
      pm2,
      goals,
      goal_met: Object.values(goals).every(Boolean),
    });
  } finally {
    if (daemon) await stopChild(daemon);
    await receiver.close();
  }
  removeTempDir(dir);
});
