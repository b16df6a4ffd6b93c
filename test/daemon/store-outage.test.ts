/**
 * The database goes away under a running daemon (`nightshift up`, a real process, on a PostgreSQL cluster of this
 * test's own, stopped with `pg_ctl stop -m fast` and started again):
 * - the daemon does not crash, and its running job keeps running;
 * - /healthz answers 503 with `{ subject: 'daemon', kind: 'store', summary: 'the database is unreachable: …' }`;
 * - a run that ends while the database is down is recorded once it is back, with the time it really ended;
 * - once the database is back, /healthz is 200 again on its own (within the probe's longest backoff), and the daemon
 *   keeps working (a new run starts and is recorded) and stops cleanly.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { STORE_HEALTH } from '../../src/config/defaults.ts';
import { parseDuration } from '../../src/config/units.ts';
import type { Run } from '../../src/store/types.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { alive, exited, freePort, runCli, spawnDaemon } from '../helpers/cli.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { makeDir } from './harness.ts';

let cluster: PrivatePostgres | null = null;
let daemon: ReturnType<typeof spawnDaemon> | null = null;
let dir = '';
const started: string[] = [];

afterEach(async () => {
  if (daemon && daemon.exitCode === null && daemon.signalCode === null && daemon.pid !== undefined) {
    process.kill(daemon.pid, 'SIGKILL');
    await exited(daemon);
  }
  daemon = null;
  const host = new HostProcesses();
  for (const id of started.splice(0)) await host.killMarked(id, null, 100);
  cluster?.destroy();
  cluster = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Health {
  status: number;
  body: { ok: boolean; reasons: Array<{ subject: string; kind: string; summary: string }> };
}

async function health(url: string): Promise<Health | null> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return { status: response.status, body: (await response.json()) as Health['body'] };
  } catch {
    return null;
  }
}

async function runsOf(url: string, job: string): Promise<Run[] | null> {
  try {
    const response = await fetch(`${url}/api/v1/jobs/${job}/runs`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200 ? ((await response.json()) as Run[]) : null;
  } catch {
    return null;
  }
}

it('survives the database going away: 503 while it is down, children keep running, the run end is recorded once it is back', async () => {
  cluster = await startPrivatePostgres();
  dir = makeDir('nightshift-outage-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const go = join(dir, 'go');
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    `store: "${cluster.url}"
http: { listen: "127.0.0.1:${port}" }
shutdown_grace: 2s
jobs:
  long:
    command: 'while [ ! -f "${go}" ]; do sleep 0.05; done'
  tick:
    command: "true"
    schedule: "* * * * * *"
checks:
  external: { every: 1s, grace: 1s }
`,
  );
  // debug: each failed tick after the first is logged at debug (an outage is said once at error level).
  daemon = spawnDaemon(configPath, { NIGHTSHIFT_LOG_LEVEL: 'debug' });
  await waitFor(async () => (await health(url))?.status === 200, 20_000, `the daemon to start: ${daemon.output()}`);

  const triggered = await runCli(['run', 'long', '--json', '-c', configPath]);
  expect(triggered.code, triggered.stderr).toBe(0);
  const runId = (JSON.parse(triggered.stdout) as Run).id;
  started.push(runId);
  const running = await waitFor(async () => (await runsOf(url, 'long'))?.find((r) => r.id === runId && r.pid !== null), 10_000, 'the run to record its pid');
  const pid = running.pid!;

  cluster.stop();
  let seen: Health | null = null;
  const down = await waitFor(async () => {
    seen = await health(url);
    return seen?.status === 503 && seen.body.reasons.some((r) => r.kind === 'store') ? seen : null;
  }, 20_000, 'healthz to report the database down').catch((error: unknown) => {
    throw new Error(`${String(error)}; last answer ${JSON.stringify(seen)}; daemon: ${daemon?.output()}`);
  });
  expect(down.body.ok).toBe(false);
  expect(down.body.reasons).toContainEqual({ subject: 'daemon', kind: 'store', summary: expect.stringMatching(/^the database is unreachable: /) });
  expect(alive(pid), 'the job process was killed with the database').toBe(true);
  expect(daemon.exitCode, daemon.output()).toBeNull();

  // The run ends while the database is down.
  writeFileSync(go, '');
  await waitFor(() => !alive(pid), 10_000, 'the job to end');
  const triedToRecord = (line: string) => line.includes(`"run":"${runId}"`) && line.includes('the database did not answer; retrying');
  await waitFor(() => daemon!.output().split('\n').some(triedToRecord), 10_000, 'the daemon to try to record the end');
  // The database's going away ends the node's cluster session, and its lead with it: no fire is acted on until it
  // leads again (below: the fires of the outage are then recorded, each once). Said once, not once per second.
  await waitFor(() => daemon!.output().includes('no longer the leader'), 10_000, 'the daemon to give up the lead with its session');
  await waitFor(() => daemon!.output().includes('cluster heartbeat failed'), 10_000, 'a heartbeat to fail during the outage');
  const errorLines = daemon.output().split('\n').filter((line) => line.includes('cluster heartbeat failed') && line.includes('"level":50'));
  expect(errorLines).toHaveLength(1);
  // Still down, still answering: the daemon did not crash on a write it could not make.
  expect((await health(url))?.status).toBe(503);
  expect(daemon.exitCode, daemon.output()).toBeNull();

  const restartedAt = Date.now();
  cluster.start();
  const backWithin = 2 * parseDuration(STORE_HEALTH.probe_max) + 5_000;
  await waitFor(async () => (await health(url))?.status === 200, backWithin, 'healthz to be 200 again after the database is back');
  const ended = await waitFor(async () => (await runsOf(url, 'long'))?.find((r) => r.id === runId && r.status !== 'running'), 15_000, 'the run end to be recorded');
  expect(ended.status).toBe('succeeded');
  expect(ended.exit_code).toBe(0);
  // The end recorded is when the process ended, not when the database came back.
  expect(Date.parse(ended.ended_at!)).toBeLessThan(restartedAt);

  // The per-second schedule lost no fire to the outage and doubled none: each second is recorded once — run, or
  // skipped as missed — from before the database went away to after it came back.
  const ticks = await waitFor(async () => {
    const runs = (await runsOf(url, 'tick')) ?? [];
    return runs.some((r) => Date.parse(r.scheduled_at) > restartedAt + 1000) ? runs : null;
  }, 15_000, 'the schedule to fire after the database is back');
  const seconds = ticks.map((r) => Date.parse(r.scheduled_at) / 1000).sort((a, b) => a - b);
  expect(new Set(seconds).size, 'a fire recorded twice').toBe(seconds.length);
  expect(seconds.at(-1)! - seconds[0]! + 1, `fires missing between ${seconds[0]} and ${seconds.at(-1)}`).toBe(seconds.length);

  // The daemon works as before: a new run starts and its end is recorded.
  const again = await runCli(['run', 'long', '--wait', '--json', '-c', configPath]);
  expect(again.code, again.stderr).toBe(0);
  started.push((JSON.parse(again.stdout) as Run).id);
  expect(existsSync(go)).toBe(true);

  daemon.kill('SIGTERM');
  await exited(daemon);
  expect(daemon.exitCode, daemon.output()).toBe(0);
}, 120_000);
