/**
 * How late a silent check is reported down: from its due moment (last ping + every + grace) to the moment its
 * `incident.opened` webhook arrives. Goal: p99 ≤ 1 s.
 *
 * Why: a check is a dead-man's switch; the alert is the only thing it produces, and a slow one means a backup or a
 * pipeline that stopped is noticed later than the config promises.
 *
 * Per round, a fresh daemon (`nightshift up`, dist/, its own state) runs CHECKS checks (`c000` …, `every` and
 * `grace` 1 s, the floor) and a webhook channel pointing at a receiver in this process on 127.0.0.1, which
 * timestamps every POST it gets. Each check is pinged once (GET /ping/<uuid>), the pings spread evenly over SPREAD
 * ms so that their due moments spread too; then nothing more is sent, and every check must go down. Per check:
 *   due        Date.parse(last_ping_at from GET /api/v1/checks) + every + grace (the daemon's `down_since` and the
 *              incident's `detail.since` must equal it; a mismatch is counted)
 *   latency    arrival of its `incident.opened` POST − due (what an operator waits for: detection + delivery)
 *   detection  the incident's `opened_at` − due (the watcher's timer and its SQLite writes)
 *   delivery   arrival − `opened_at` (the outbox: queue, read back, POST)
 * Reported per round: p50/p99/max of each over the checks, alerts missing after TIMEOUT s, duplicates, and alerts
 * that came before the due moment (there must be none); and the median of the rounds. Each round is a fresh daemon,
 * because a check that recovers and fails again within `alerts.flap_window` reopens its incident untold.
 *
 * Usage: node bench/check-down-latency.mjs [--runs 3] [--checks 100] [--spread 3000] [--every 1] [--grace 1]
 *                                          [--timeout 30] [--quick]   (--quick: 1 round of 20 checks)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseArgs, makeTempDir, removeTempDir, freePort, startDaemon, stopChild, sleep, percentile, round, medianOfRuns,
  machine, printTable, emitJson, runMain,
  startWebhookReceiver,
} from './lib.mjs';

const args = parseArgs({ runs: 3, checks: 100, spread: 3000, every: 1, grace: 1, timeout: 30 }, { runs: 1, checks: 20 });
const GOAL_P99_MS = 1000;


const names = Array.from({ length: args.checks }, (_, i) => `c${String(i).padStart(3, '0')}`);

function writeConfig(dir, port, hookPort) {
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: bench-down',
      'state_dir: state',
      `http: { listen: "127.0.0.1:${port}" }`,
      'channels:',
      `  hook: { type: webhook, url: "http://127.0.0.1:${hookPort}/" }`,
      'alerts: { channels: [hook] }',
      'checks:',
      ...names.map((name) => `  ${name}: { every: ${args.every}s, grace: ${args.grace}s }`),
      '',
    ].join('\n'),
  );
  return configPath;
}

async function getJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

function stats(values) {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : NaN };
}

async function oneRun(index) {
  const dir = makeTempDir('down');
  const receiver = await startWebhookReceiver();
  let daemon = null;
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    daemon = await startDaemon(writeConfig(dir, port, receiver.port), port, join(dir, 'daemon.log'));
    const before = await getJson(`${base}/api/v1/checks`);
    const uuids = new Map(before.map((c) => [c.name, c.uuid]));
    for (const name of names) if (!uuids.has(name)) throw new Error(`check ${name} is not in GET /api/v1/checks`);

    // One ping each, spread evenly: check i at start + i × spread / checks, each sent at its moment without waiting
    // for the ones before it (so --spread 0 is a burst of concurrent pings).
    const start = performance.now() + 100;
    await Promise.all(
      names.map(async (name, i) => {
        await sleep(Math.max(0, start + (i * args.spread) / names.length - performance.now()));
        const response = await fetch(`${base}/ping/${uuids.get(name)}`, { signal: AbortSignal.timeout(5000) });
        if (response.status !== 200) throw new Error(`the ping of ${name} answered ${response.status}`);
        await response.arrayBuffer();
      }),
    );
    const pinged = await getJson(`${base}/api/v1/checks`);
    const dueOf = new Map();
    for (const check of pinged) {
      if (!uuids.has(check.name)) continue;
      if (check.last_ping_at === null) throw new Error(`check ${check.name} has no last_ping_at after its ping`);
      dueOf.set(check.name, Date.parse(check.last_ping_at) + (args.every + args.grace) * 1000);
    }

    // Wait for one incident.opened per check, bounded by the last due moment + timeout.
    const deadline = Math.max(...dueOf.values()) + args.timeout * 1000;
    const opened = () =>
      receiver.received.filter((r) => r.body?.event === 'incident.opened' && r.body.incident?.kind === 'check_down');
    while (new Set(opened().map((r) => r.body.incident.subject)).size < names.length && Date.now() < deadline) await sleep(50);
    await sleep(200); // late duplicates, if any
    const after = await getJson(`${base}/api/v1/checks`);

    const firstBySubject = new Map();
    let duplicates = 0;
    for (const r of opened()) {
      if (firstBySubject.has(r.body.incident.subject)) duplicates++;
      else firstBySubject.set(r.body.incident.subject, r);
    }
    const latency = [];
    const detection = [];
    const delivery = [];
    let early = 0;
    let sinceMismatch = 0;
    for (const name of names) {
      const due = dueOf.get(name);
      const alert = firstBySubject.get(name);
      const check = after.find((c) => c.name === name);
      if (check?.down_since !== undefined && check.down_since !== null && Date.parse(check.down_since) !== due) sinceMismatch++;
      if (!alert) continue;
      const incident = alert.body.incident;
      if (incident.detail?.since && Date.parse(incident.detail.since) !== due) sinceMismatch++;
      const openedAt = Date.parse(incident.opened_at);
      if (alert.at < due) early++;
      latency.push(alert.at - due);
      detection.push(openedAt - due);
      delivery.push(alert.at - openedAt);
    }
    const total = stats(latency);
    const detect = stats(detection);
    const deliver = stats(delivery);
    return {
      run: index + 1,
      checks: names.length,
      alerts: firstBySubject.size,
      missing: names.length - firstBySubject.size,
      duplicates,
      early,
      since_mismatch: sinceMismatch,
      other_posts: receiver.received.length - opened().length,
      down_after: after.filter((c) => uuids.has(c.name) && c.state === 'down').length,
      // How far apart the first and the last due moment were (≈ --spread, plus the pings' own time).
      due_span_ms: Math.max(...dueOf.values()) - Math.min(...dueOf.values()),
      p50_ms: total.p50,
      p99_ms: total.p99,
      max_ms: total.max,
      detect_p50_ms: detect.p50,
      detect_p99_ms: detect.p99,
      deliver_p50_ms: deliver.p50,
      deliver_p99_ms: deliver.p99,
    };
  } finally {
    if (daemon) await stopChild(daemon);
    await receiver.close();
    removeTempDir(dir);
  }
}

await runMain(async () => {
  const info = machine();
  process.stdout.write(
    `check-down-latency: ${args.runs} round(s), ${args.checks} checks (every ${args.every} s, grace ${args.grace} s), ` +
      `pinged once each over ${args.spread} ms; latency = incident.opened webhook arrival − due moment\n`,
  );
  const runs = [];
  for (let i = 0; i < args.runs; i++) {
    const r = await oneRun(i);
    runs.push(r);
    process.stdout.write(
      `  round ${r.run}: ${r.alerts}/${r.checks} alerts (due over ${r.due_span_ms} ms), ` +
        `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms ` +
        `(detection p99 ${r.detect_p99_ms} ms, delivery p99 ${r.deliver_p99_ms} ms); missing ${r.missing}, duplicates ` +
        `${r.duplicates}, early ${r.early}, since mismatches ${r.since_mismatch}\n`,
    );
  }
  const fields = Object.keys(runs[0]).filter((k) => k !== 'run');
  const med = medianOfRuns(runs, fields);
  printTable([
    [
      'round', 'alerts', 'missing', 'dup', 'early', 'p50 ms', 'p99 ms', 'max ms',
      'detect p50', 'detect p99', 'deliver p50', 'deliver p99',
    ],
    ...[...runs, { ...med, run: 'median' }].map((r) => [
      r.run, `${r.alerts}/${r.checks}`, r.missing, r.duplicates, r.early, r.p50_ms, r.p99_ms, r.max_ms,
      r.detect_p50_ms, r.detect_p99_ms, r.deliver_p50_ms, r.deliver_p99_ms,
    ]),
  ]);
  const goals = {
    p99_at_most_1s: med.p99_ms <= GOAL_P99_MS,
    every_check_alerted_once: runs.every((r) => r.missing === 0 && r.duplicates === 0),
    none_early: runs.every((r) => r.early === 0 && r.since_mismatch === 0),
  };
  process.stdout.write(`goals: ${Object.entries(goals).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}\n`);
  emitJson({
    bench: 'check-down-latency',
    args,
    machine: info,
    runs,
    median: med,
    goals,
    goal_met: Object.values(goals).every(Boolean),
  });
});
