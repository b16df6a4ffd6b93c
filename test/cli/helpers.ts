/**
 * What the CLI end-to-end tests share: a project in a temp dir with its own free port, the real CLI as a process
 * (one-shot or in the background), a real daemon (`nightshift up`), and one cleanup that undoes all of it even when
 * a test fails: daemons and background CLIs stopped by pid (SIGTERM, then SIGKILL), whatever still carries the marker
 * of a run left `running` killed by marker, temp dirs removed.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, runCli, spawnDaemon, type CliResult } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { openStore } from '../../src/store/open.ts';
import type { Run, Store } from '../../src/store/types.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';

export { freePort, runCli, type CliResult } from '../helpers/cli.ts';
import { freePort, spawnCli, type SpawnedCli } from '../helpers/cli.ts';
export { waitFor } from '../helpers/wait-for.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** The keys of the Run shape (DESIGN.md "JSON shapes"), plus the additions every Run record carries. */
export const RUN_KEYS = [
  'id',
  'job',
  'attempt',
  'status',
  'reason',
  'trigger',
  'exit_code',
  'signal',
  'scheduled_at',
  'started_at',
  'ended_at',
  'duration_ms',
  'pid',
  'degraded',
];
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// ---------------------------------------------------------------------------------------------------------------
// Cleanup: a stack, undone in reverse order in afterEach (daemons and background processes before the dirs they use).

const cleanups: Array<() => Promise<void>> = [];

export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** Call from afterEach. Runs every cleanup even when one fails, then reports the first failure. */
export async function cleanupAll(): Promise<void> {
  let first: unknown = null;
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (error) {
      first ??= error;
    }
  }
  if (first) throw first;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

/** True when the pid no longer runs. A zombie counts as gone (this container's init does not reap orphans). */
export function isGone(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state === 'Z' || state === 'X';
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited(child).then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

export type BackgroundCli = SpawnedCli;

/** Starts the CLI in the background (for `exec` holding a lock, `logs -f` …); stopped by pid in cleanup. */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): BackgroundCli {
  const cli = spawnCli(args, options);
  onCleanup(() => stopProcess(cli.child));
  return cli;
}

export async function finished(cli: BackgroundCli, timeoutMs: number, what: string): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    cli.result,
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!result) throw new Error(`${what} did not exit within ${timeoutMs} ms; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
  return result;
}

export function parseJson<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}); stdout: ${result.stdout} stderr: ${result.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Projects

export function makeTempDir(prefix = 'nightshift-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Project {
  dir: string;
  configPath: string;
  port: number;
  stateDir: string;
  /**
   * The CLI with `-c <this config>` right after the command name (before a `--`, so `exec` reads it as its own flag
   * rather than as part of the command), run from the project dir.
   */
  cli(args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string }): Promise<CliResult>;
  /** The same, in the background. */
  start(args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): BackgroundCli;
  /** The project's runs of `job`, newest first, read from its SQLite file. */
  runs(job: string, limit?: number): Promise<Run[]>;
  /** Opens the project's store (closed in cleanup). */
  store(): Promise<Store>;
}

/**
 * A project in a temp dir: `nightshift.yaml` is `body` after a header that gives it its own free port on 127.0.0.1
 * (so no test ever talks to a daemon on the default port) and a short shutdown grace.
 */
export async function makeProject(body: string, options: { header?: boolean } = {}): Promise<Project> {
  const dir = makeTempDir();
  const port = await freePort();
  const configPath = join(dir, 'nightshift.yaml');
  const header = options.header === false ? '' : `project: cli-test\nhttp: { listen: "127.0.0.1:${port}" }\nshutdown_grace: 500ms\n`;
  writeFileSync(configPath, header + body);
  const stateDir = join(dir, '.nightshift');
  const env = { FIXTURES, PIDFILE_DIR: dir };
  const project: Project = {
    dir,
    configPath,
    port,
    stateDir,
    cli: (args, o = {}) => runCli(withConfig(args, configPath), { cwd: o.cwd ?? dir, env: { ...env, ...o.env }, timeoutMs: o.timeoutMs ?? 20_000 }),
    start: (args, o = {}) => startCli(withConfig(args, configPath), { cwd: o.cwd ?? dir, env: { ...env, ...o.env } }),
    runs: async (job, limit = 1000) => {
      const store = await openProjectStore(stateDir);
      try {
        return await store.listRuns({ job, limit });
      } finally {
        await store.close();
      }
    },
    store: async () => {
      const store = await openProjectStore(stateDir);
      onCleanup(() => store.close());
      return store;
    },
  };
  // Registered after the dir's removal, so it runs before it: kill what runs left `running` still have alive.
  onCleanup(() => killLeftoverRuns(stateDir));
  return project;
}

function withConfig(args: string[], configPath: string): string[] {
  return [args[0]!, '-c', configPath, ...args.slice(1)];
}

async function openProjectStore(stateDir: string): Promise<Store> {
  const store = await openStore({ kind: 'sqlite', path: join(stateDir, 'state.db') });
  await store.migrate();
  return store;
}

/** Kills, by marker, every process of every run the project's store still has as `running`. */
export async function killLeftoverRuns(stateDir: string): Promise<void> {
  if (!existsSync(join(stateDir, 'state.db'))) return;
  const store = await openProjectStore(stateDir);
  let running: Run[];
  try {
    running = await store.listRuns({ statuses: ['running'], limit: 1000 });
  } finally {
    await store.close();
  }
  const host = new HostProcesses();
  for (const run of running) await host.killMarked(run.id, null, 200);
}

// ---------------------------------------------------------------------------------------------------------------
// The daemon

export interface RunningDaemon {
  child: ChildProcess & { output: () => string };
  url: string;
  stop(): Promise<void>;
}

/** `nightshift up -c <project>` as a real process; resolves once its API answers, fails fast if it exits first. */
export async function startDaemon(project: Project, timeoutMs = 10_000): Promise<RunningDaemon> {
  const child = spawnDaemon(project.configPath, { FIXTURES, PIDFILE_DIR: project.dir });
  onCleanup(() => stopProcess(child));
  const url = `http://127.0.0.1:${project.port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the daemon exited (${child.exitCode ?? child.signalCode}) before answering: ${child.output()}`);
      }
      return daemonAnswers(url, child.pid!);
    },
    timeoutMs,
    'the daemon to answer on its API',
  );
  return { child, url, stop: () => stopProcess(child) };
}

/** True when the daemon with this pid answers /api/v1/status on `url`. */
export async function daemonAnswers(url: string, pid: number): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/v1/status`, { signal: AbortSignal.timeout(1_000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { daemon?: { pid?: number } | null };
    return body.daemon?.pid === pid;
  } catch {
    return false;
  }
}

/** Polls `history JOB --json` through the CLI until `pred` holds. */
export function waitForHistory(project: Project, job: string, what: string, pred: (runs: Run[]) => boolean, timeoutMs = 10_000): Promise<Run[]> {
  return waitFor(async () => {
    const result = await project.cli(['history', job, '--json']);
    if (result.code !== 0) throw new Error(`history ${job} failed (${result.code}): ${result.stderr}`);
    const runs = parseJson<Run[]>(result);
    return pred(runs) ? runs : null;
  }, timeoutMs, what);
}
