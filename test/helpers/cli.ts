/**
 * Runs the built CLI (`dist/cli/main.js`, which `npm test` builds first) as a real process, and finds a free port
 * on 127.0.0.1 for a daemon to listen on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is closed. */
  result: Promise<CliResult>;
}

/** Starts `nightshift ARGS…` with its output collected; the caller waits on `result` or stops it by pid. */
export function spawnCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnedCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, result };
}

export async function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const cli = spawnCli(args, options);
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    cli.child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const result = await cli.result;
    if (timedOut) throw new Error(`nightshift ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${result.stderr}`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `nightshift up` as a real daemon process; the caller stops it by pid. */
export function spawnDaemon(configPath: string, env: NodeJS.ProcessEnv = {}): ChildProcess & { output: () => string } {
  const cli = spawnCli(['up', '-c', configPath], { env: { NIGHTSHIFT_LOG_LEVEL: 'warn', ...env } });
  return Object.assign(cli.child, { output: () => cli.stdout() + cli.stderr() });
}

/** Whether a process with this pid is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when the process has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
