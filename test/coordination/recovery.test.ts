/**
 * A daemon killed with -9 leaves a run `running` with its locks. The next daemon's recovery must judge the run by its
 * supervisor's lock (the job lock), not by a named lock the run took for a process of its own that may still live:
 * the run is marked lost and every lock it held goes with it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { recoverRuns } from '../../src/scheduler/recovery.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { newRunId } from '../../src/util/ids.ts';
import { exited } from '../helpers/cli.ts';
import { useTempDir } from '../store/helpers/temp-dir.ts';

const tmp = useTempDir();

describe('recovery and named locks', () => {
  it("marks the run lost and frees its named locks even while the lock's own process lives", async () => {
    const store = await openSqliteStore(join(tmp.path, 'state.db'));
    tmp.onCleanup(() => store.close());
    await store.migrate();
    const host = new HostProcesses();

    // The dead daemon: a process that has exited. The named lock's holder: a process still alive.
    const gone = spawn('true');
    await exited(gone);
    const alive = spawn('sleep', ['30']);
    tmp.onCleanup(() => void alive.kill('SIGKILL'));
    const aliveStart = await host.startTimeOf(alive.pid!);

    const id = newRunId();
    const now = new Date().toISOString();
    const run = { id, job: 'writer', attempt: 1, chain_id: id, trigger: 'api' as const, scheduled_at: now, node: 'n' };
    const jobLock = { name: 'job:writer', holder: { token: id, run_id: id, pid: gone.pid!, pid_start: null, node: 'n' } };
    expect((await store.startRun(run, jobLock, now)).started).toBe(true);
    const named = { name: 'lock:publish', holder: { token: 't', run_id: id, pid: alive.pid!, pid_start: aliveStart, node: 'n' }, ttl_ms: 600_000 };
    expect(await store.acquireLock(named, now)).toEqual({ acquired: true });

    const report = await recoverRuns({ store, probe: host, logger: silentLogger(), node: 'n', jobs: {}, killMarked: async () => 0 });
    expect(report.lost.map((r) => [r.id, r.status, r.reason])).toEqual([[id, 'lost', 'daemon_restart']]);
    expect(report.stillHeld).toBe(0);
    expect(await store.listLocks()).toEqual([]);
  });

  it("in a cluster recovers only its own node's runs: another node's running run is that node's (or the reaper's)", async () => {
    const store = await openSqliteStore(join(tmp.path, 'state.db'));
    tmp.onCleanup(() => store.close());
    await store.migrate();
    const host = new HostProcesses();
    const gone = spawn('true');
    await exited(gone);

    const now = new Date().toISOString();
    const start = async (job: string, node: string): Promise<string> => {
      const id = newRunId();
      const run = { id, job, attempt: 1, chain_id: id, trigger: 'api' as const, scheduled_at: now, node };
      const lock = { name: `job:${job}`, holder: { token: id, run_id: id, pid: gone.pid!, pid_start: null, node } };
      expect((await store.startRun(run, lock, now)).started).toBe(true);
      return id;
    };
    const mine = await start('scan', 'vps-1');
    const theirs = await start('ingest', 'vps-2');

    const report = await recoverRuns({ store, probe: host, logger: silentLogger(), node: 'vps-1', jobs: {}, ownRunsOnly: true, killMarked: async () => 0 });
    expect(report.lost.map((r) => r.id)).toEqual([mine]);
    expect((await store.getRun(theirs))?.status).toBe('running');
    expect((await store.listLocks()).map((l) => l.run_id)).toEqual([theirs]);
  });
});
