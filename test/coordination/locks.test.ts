/**
 * Named locks with real processes: `nightshift lock NAME -- CMD` (the built CLI) against a real daemon and, without
 * one, against the state database; a holder killed with SIGKILL is reclaimed at once; a lock a run took through the
 * SDK ends with the run, however it ends.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDir, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { exited, freePort, runCli, spawnCli, type SpawnedCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { api, fixtureCommand } from './helpers.ts';
import { readJobLogLines } from '../../src/runner/output/log-reader.ts';

let current: TestDaemon | null = null;
const spawned: SpawnedCli[] = [];
const pids: number[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const cli of spawned.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await exited(cli.child);
  }
  for (const pid of pids.splice(0)) killQuietly(pid);
  await current?.cleanup();
  current = null;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The direct children of `pid` (from /proc), so the test can kill exactly what its CLI started. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function daemonWithConfig(extra = ''): Promise<{ t: TestDaemon; config: string }> {
  const port = await freePort();
  const t = (current = await startTestDaemon(`
shutdown_grace: 1s
http: { listen: 127.0.0.1:${port} }
jobs:
  holder:
    command: ${fixtureCommand('hold-lock')}
    timeout: 2m
    kill_grace: 500ms
  crasher:
    command: ${fixtureCommand('hold-lock')}
    env: { EXIT_AFTER_LOCK: '1' }
${extra}`));
  return { t, config: join(t.dir, 'nightshift.yaml') };
}

/** Starts `nightshift lock NAME -- sleep 30` and waits until the lock names it. */
async function holdWithCli(config: string, name: string, isHeld: () => Promise<{ pid: number } | null>, ttl = '1m') {
  const cli = spawnCli(['lock', name, '-c', config, '--ttl', ttl, '--', 'sleep', '30']);
  spawned.push(cli);
  const pid = cli.child.pid!;
  await waitFor(async () => (await isHeld())?.pid === pid, 15_000, `lock ${name} to be held by the CLI (pid ${pid}): ${cli.stderr()}`);
  const sleeper = await waitFor(() => childrenOf(pid)[0], 5_000, 'the command under the lock');
  pids.push(sleeper);
  return { cli, pid, sleeper };
}

describe('nightshift lock, through the daemon', () => {
  it('runs the command under the lock; a second caller exits 75 naming the holder, or waits for it', async () => {
    const { t, config } = await daemonWithConfig();
    const held = async () => (await api(t, 'GET', '/locks/publish')).body as { pid: number } | null;
    const first = await holdWithCli(config, 'publish', async () => ((await api(t, 'GET', '/locks/publish')).status === 200 ? held() : null));

    const second = await runCli(['lock', 'publish', '-c', config, '--', 'true']);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`lock publish is held by pid ${first.pid}`);

    const json = await runCli(['lock', 'publish', '-c', config, '--json', '--', 'true']);
    expect([json.code, json.stdout.trim()]).toEqual([75, 'null']);

    // A waiter gets the lock once the holder lets go (its command ends, so it releases).
    const waiter = spawnCli(['lock', 'publish', '-c', config, '--wait', '20s', '--json', '--', 'sh', '-c', 'exit 7']);
    spawned.push(waiter);
    process.kill(first.sleeper, 'SIGTERM');
    const result = await waiter.result;
    expect(result.code, result.stderr).toBe(7); // the command's own exit code
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'publish', run_id: null, pid: waiter.child.pid, token: expect.any(String) });
    expect((await first.cli.result).code).toBe(143); // sleep ended by SIGTERM: 128 + 15
    expect((await api(t, 'GET', '/locks/publish')).status).toBe(404);
  });

  it('a holder killed with SIGKILL is reclaimed at once, long before its ttl', async () => {
    const { t, config } = await daemonWithConfig();
    const heldBy = async () => {
      const answer = await api(t, 'GET', '/locks/nightly');
      return answer.status === 200 ? (answer.body as { pid: number }) : null;
    };
    const first = await holdWithCli(config, 'nightly', heldBy, '10m');
    first.cli.child.kill('SIGKILL');
    await exited(first.cli.child);

    const started = Date.now();
    const next = await runCli(['lock', 'nightly', '-c', config, '--json', '--', 'true']);
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ name: 'nightly' });
    expect(Date.now() - started).toBeLessThan(10_000);
    killQuietly(first.sleeper);
  });

  it("a lock a run took with the SDK is released when the run ends: killed by the daemon, or by its own SIGKILL", async () => {
    const { t } = await daemonWithConfig();
    for (const job of ['holder', 'crasher']) {
      const run = await t.daemon.trigger(job, 'api');
      const said = () => readJobLogLines(join(t.config.stateDir, 'logs'), job, { runId: run.id }).then((lines) => lines.join('\n'));
      // It says so once it holds the lock (crasher: just before it SIGKILLs itself).
      await waitFor(async () => (await said()).includes('holding shared until'), 30_000, `${job} to take the lock`);
      if (job === 'holder') {
        expect((await api(t, 'GET', '/locks/shared')).body).toMatchObject({ name: 'shared', run_id: run.id });
        expect(t.daemon.cancelRun(run.id)).toBe(true); // killed: its tree gets SIGTERM, then SIGKILL
      }
      const runs = await t.waitForRuns(job, `${job} to end`, (list) => list.some((r) => r.id === run.id && r.status !== 'running'), 30_000);
      const ended = runs.find((r) => r.id === run.id)!;
      expect(ended.status).toBe(job === 'holder' ? 'killed' : 'failed');
      expect(await t.daemon.store.getLock('lock:shared')).toBeNull();
      expect((await api(t, 'GET', '/locks/shared')).status).toBe(404);
    }
  });
});

describe('nightshift lock, without a daemon', () => {
  it('locks on the state database; SIGKILL of the holder frees it for the next caller', async () => {
    const dir = makeDir();
    dirs.push(dir);
    const port = await freePort(); // nothing listens there: the CLI works on the state database
    const config = join(dir, 'nightshift.yaml');
    writeFileSync(config, `http: { listen: 127.0.0.1:${port} }\njobs: {}\n`);
    const { openSqliteStore } = await import('../../src/store/sqlite/sqlite-store.ts');
    const heldBy = async () => {
      const store = await openSqliteStore(join(dir, '.nightshift', 'state.db')).catch(() => null);
      if (store === null) return null;
      try {
        await store.migrate();
        return await store.getLock('lock:backup');
      } finally {
        await store.close();
      }
    };
    const first = await holdWithCli(config, 'backup', heldBy, '10m');

    const blocked = await runCli(['lock', 'backup', '-c', config, '--', 'true']);
    expect(blocked.code).toBe(75);
    expect(blocked.stderr).toContain(`held by pid ${first.pid}`);

    first.cli.child.kill('SIGKILL');
    await exited(first.cli.child);
    const next = await runCli(['lock', 'backup', '-c', config, '--', 'sh', '-c', 'exit 0']);
    expect(next.code, next.stderr).toBe(0);
    expect(await heldBy()).toBeNull(); // released when its command ended
    killQuietly(first.sleeper);
  });

  it('refuses a bad flag with exit 2 naming it, and a missing command', async () => {
    const dir = makeDir();
    dirs.push(dir);
    const config = join(dir, 'nightshift.yaml');
    writeFileSync(config, `http: { listen: 127.0.0.1:${await freePort()} }\n`);
    const badTtl = await runCli(['lock', 'x', '-c', config, '--ttl', '30', '--', 'true']);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toContain("--ttl '30' is not a duration");
    const shortTtl = await runCli(['lock', 'x', '-c', config, '--ttl', '10ms', '--', 'true']);
    expect(shortTtl.code).toBe(2);
    expect(shortTtl.stderr).toContain('ttl must be at least 1s');
    const badName = await runCli(['lock', 'a/b', '-c', config, '--', 'true']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('lock name "a/b" is not valid');
  });
});
