/**
 * The run cgroups as the daemon and `nightshift exec` use them: ProcessLauncher hands them to the runner, and the
 * daemon detects them once at start and says so in its log. (Here rather than in test/daemon: the runner owns the
 * feature.) Real processes; the cgroup tests are skipped, with a message, where this host has no writable cgroup v2.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { Daemon } from '../../src/daemon/daemon.ts';
import { detectRunCgroups, type RunCgroups } from '../../src/runner/cgroup.ts';
import { ProcessLauncher } from '../../src/scheduler/run-launcher.ts';
import type { Run } from '../../src/store/types.ts';
import { newRunId } from '../../src/util/ids.ts';
import { loadTestConfig } from '../daemon/harness.ts';
import { Janitor, MemorySink, removeTestCgroups } from './helpers.ts';

const TEST_DIR_NAME = `nightshift-runs-wiring-${process.pid}`;
const realCgroups: RunCgroups | null = await detectRunCgroups({ dirName: TEST_DIR_NAME });
const cgroupsAvailable = realCgroups !== null;
const SKIPPED = 'SKIPPED: no writable cgroup v2 on this host (detectRunCgroups returned null)';
if (!cgroupsAvailable) console.warn(`test/runner/cgroup-wiring.test.ts: real-cgroup tests ${SKIPPED}`);

const janitor = new Janitor();
afterEach(() => janitor.cleanup());
afterAll(async () => {
  if (realCgroups) await removeTestCgroups(realCgroups);
});

function runOf(id: string, job: string): Run {
  const now = new Date().toISOString();
  return {
    id,
    job,
    attempt: 1,
    status: 'running',
    reason: null,
    trigger: 'manual',
    exit_code: null,
    signal: null,
    scheduled_at: now,
    started_at: now,
    ended_at: null,
    duration_ms: null,
    pid: null,
    degraded: null,
    orphans_killed: 0,
    node: 'test',
    chain_id: id,
    error: null,
    heartbeat_at: null,
    retry_after_at: null,
  };
}

describe(cgroupsAvailable ? 'wiring' : `wiring (${SKIPPED})`, () => {
  it.skipIf(!cgroupsAvailable)('ProcessLauncher runs each run in a cgroup of its own, removed at the end', async () => {
    const dir = janitor.tempDir('ns-wiring-');
    const config = loadTestConfig(dir, 'jobs:\n  probe:\n    command: "sleep 0.1"\n');
    const job = config.jobs.probe!;
    const launcher = new ProcessLauncher({
      sinkFor: () => new MemorySink(),
      daemonUrl: () => 'http://127.0.0.1:1',
      tokens: null,
      cgroups: realCgroups,
    });
    const run = janitor.track({ runId: newRunId() });
    let seen = '';
    const result = await launcher.launch(job, runOf(run.runId, 'probe'), new AbortController().signal, (pid) => {
      seen = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    });
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0 });
    expect(seen).toContain(`/${TEST_DIR_NAME}/run-${run.runId}\n`);
    expect(existsSync(join((realCgroups as RunCgroups).base, `run-${run.runId}`))).toBe(false);
  });

  it('the daemon says at start whether runs get cgroups', async () => {
    const dir = janitor.tempDir('ns-wiring-daemon-');
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadTestConfig(dir, 'jobs: {}\n');
    const daemon = await Daemon.start({ config, logger: pino({ level: 'info' }, sink), reloadConfig: async () => config, port: 0 });
    await daemon.stop();
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    const expected = cgroupsAvailable
      ? /^runs are tracked in cgroup \/.*\/nightshift-runs$/
      : /^no writable cgroup v2: runs are tracked by marker and process group only$/;
    expect(messages.filter((m) => expected.test(m))).toHaveLength(1);
  });
});
