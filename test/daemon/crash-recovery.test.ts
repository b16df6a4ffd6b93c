/**
 * kill -9 of the daemon at random moments, fifty times, with a per-second job running: after every restart no run is
 * stuck `running`, no run has two copies, no two runs of the job overlap, and nothing a dead daemon started survives.
 * The daemon is the real CLI process (`nightshift up`); the job is a real shell script.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import type { Run } from '../../src/store/types.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { exited, freePort, spawnDaemon } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { FIXTURES, makeDir } from './harness.ts';

const KILLS = 50;

let dir = '';
let daemonPid: number | null = null;

afterEach(async () => {
  if (daemonPid !== null) {
    try {
      process.kill(daemonPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dir && existsSync(join(dir, '.nightshift', 'state.db'))) {
    const store = await openStore({ kind: 'sqlite', path: join(dir, '.nightshift', 'state.db') });
    const host = new HostProcesses();
    for (const run of await store.listRuns({ limit: 100_000 })) {
      if ((await host.markedPids(run.id)).length) await host.killMarked(run.id, null, 100);
    }
    await store.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
}

async function runsOf(url: string): Promise<Run[]> {
  return (await (await fetch(`${url}/api/v1/jobs/work/runs?limit=10000`)).json()) as Run[];
}

describe('crash recovery', () => {
  it(`survives ${KILLS} kill -9 of the daemon at random moments without losing or doubling a run`, async () => {
    dir = makeDir('nightshift-crash-');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const configPath = join(dir, 'nightshift.yaml');
    writeFileSync(
      configPath,
      `shutdown_grace: 2s
http: { listen: "127.0.0.1:${port}" }
jobs:
  work:
    command: [sh, "${FIXTURES}guarded-work.sh"]
    schedule: "* * * * * *"
    retries: 1
    kill_grace: 300ms
`,
    );
    const env = { WORK_DIR: dir };
    for (let i = 0; i < KILLS; i++) {
      const daemon = spawnDaemon(configPath, env);
      daemonPid = daemon.pid ?? null;
      await waitFor(() => healthy(url), 15_000, `daemon start #${i + 1}: ${daemon.output()}`);
      // Recovery ran before the API listened: nothing left `running` may lack a live process.
      const running = (await runsOf(url)).filter((r) => r.status === 'running');
      expect(running.length, 'two runs of one job running at once').toBeLessThanOrEqual(1);
      // The kill lands at a random moment: mid-start, mid-run, mid-finish, or between runs.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 700)));
      daemon.kill('SIGKILL');
      await exited(daemon);
    }

    // A last daemon recovers the last kill, then stops cleanly.
    const last = spawnDaemon(configPath, env);
    daemonPid = last.pid ?? null;
    await waitFor(() => healthy(url), 15_000, 'the final daemon start');
    last.kill('SIGTERM');
    await exited(last);
    daemonPid = null;

    const store = await openStore({ kind: 'sqlite', path: join(dir, '.nightshift', 'state.db') });
    const runs = await store.listRuns({ job: 'work', limit: 100_000 });
    await store.close();

    expect(runs.filter((r) => r.status === 'running'), 'runs stuck running').toEqual([]);
    const lost = runs.filter((r) => r.status === 'lost');
    expect(lost.length, 'the kills should have caught runs mid-flight').toBeGreaterThan(0);
    for (const run of lost) expect(run.reason).toBe('daemon_restart');

    const starts = readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n');
    const startedIds = starts.map((line) => line.split(' ')[0]);
    expect(new Set(startedIds).size, 'a run id started twice').toBe(startedIds.length);
    const known = new Set(runs.map((r) => r.id));
    for (const id of startedIds) expect(known.has(id!), `process for unknown run ${id}`).toBe(true);
    expect(existsSync(join(dir, 'violations')) ? readFileSync(join(dir, 'violations'), 'utf8') : '').toBe('');

    const host = new HostProcesses();
    for (const run of runs) expect(await host.markedPids(run.id), `leftover processes of run ${run.id}`).toEqual([]);
  }, 240_000);
});
