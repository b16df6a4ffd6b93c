/**
 * Shared by the runner tests: fixture paths, a RunSpec builder, an in-memory sink, pidfile reading, and a janitor
 * that kills — by pid, and only processes still carrying the test's run marker — whatever a test left running.
 */
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { RunCgroups } from '../../src/runner/cgroup.ts';
import { ProcReader, isLiveState } from '../../src/runner/proc.ts';
import type { OutputSink, RunSpec } from '../../src/runner/types.ts';
import type { CommandSpec } from '../../src/config/types.ts';
import { newRunId } from '../../src/util/ids.ts';
import { waitFor } from '../helpers/wait-for.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const fixture = (name: string): string => join(FIXTURES, name);

export const proc = new ProcReader();

/** A minimal environment: enough for sh and node to work, nothing inherited by accident. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmpdir(), LANG: 'C.UTF-8', ...extra };
}

export const sh = (script: string): CommandSpec => ({ kind: 'shell', script });
export const argv = (...args: [string, ...string[]]): CommandSpec => ({ kind: 'argv', argv: args });

export class MemorySink implements OutputSink {
  readonly chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  endCalls = 0;

  write(stream: 'out' | 'err', chunk: Buffer): void {
    this.chunks[stream].push(chunk);
  }

  end(): void {
    this.endCalls += 1;
  }

  text(stream: 'out' | 'err'): string {
    return Buffer.concat(this.chunks[stream]).toString('utf8');
  }
}

export function makeSpec(command: CommandSpec, overrides: Partial<RunSpec> = {}): RunSpec & { output: OutputSink } {
  return {
    runId: newRunId(),
    job: 'test-job',
    command,
    cwd: tmpdir(),
    env: baseEnv(),
    user: null,
    timeoutMs: null,
    killGraceMs: 500,
    memoryBytes: null,
    cpuPercent: null,
    output: new MemorySink(),
    ...overrides,
  };
}

/** Pids written by the fixtures into their PIDFILE_DIR, by name (`parent`, `grandchild`, …). */
export function readPids(dir: string): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(dir, name), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) pids[name.slice(0, -4)] = pid;
  }
  return pids;
}

/** Alive as a test must see it: present and not a zombie (this container's init does not reap orphans). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await proc.readStat(pid);
  return stat !== null && isLiveState(stat.state);
}

/** Tracks what a test started and cleans it up in afterEach, even when the test failed half-way. */
export class Janitor {
  private readonly runIds = new Set<string>();
  private readonly dirs = new Set<string>();

  track<T extends { runId: string }>(spec: T): T {
    this.runIds.add(spec.runId);
    return spec;
  }

  tempDir(prefix = 'ns-runner-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.add(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const runId of this.runIds) {
      // Only processes still carrying this test's marker: a recycled pid is never hit.
      for (const pid of await proc.findMarkedPids(runId)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    this.runIds.clear();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }
}

/**
 * Removes a test's own run-cgroups directory (never a daemon's `nightshift-runs`): every run cgroup left in it is
 * killed (cgroup.kill: only that cgroup's members) and removed, then the directory itself.
 */
export async function removeTestCgroups(cgroups: RunCgroups): Promise<void> {
  for (const name of readdirSync(cgroups.base)) {
    if (!name.startsWith('run-')) continue;
    const cgroup = await cgroups.find(name.slice('run-'.length));
    if (!cgroup) continue;
    await cgroup.kill();
    await waitFor(async () => (await cgroup.pids()).length === 0, 2000, `${cgroup.path} to empty`);
    await waitFor(() => cgroup.remove(), 2000, `${cgroup.path} to be removed`);
  }
  rmdirSync(cgroups.base);
}
