/**
 * What the task-queue tests share: child processes running TypeScript fixtures (real processes, killed by pid in
 * cleanup), their JSON-line output turned into awaitable waits, and the daemon's API token for HTTP calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait-for.ts';

const REGISTER = fileURLToPath(new URL('../store/helpers/register-ts.mjs', import.meta.url));
export const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface Line {
  event: string;
  [key: string]: unknown;
}

export interface TsChild {
  child: ChildProcess;
  pid: number;
  lines: Line[];
  stderr(): string;
  /** Waits until `pred` holds for the lines so far (never a bare sleep); returns them. */
  until(what: string, pred: (lines: Line[]) => boolean, timeoutMs?: number): Promise<Line[]>;
  send(text: string): void;
  exited: Promise<number | null>;
  /** SIGKILL by pid if still running, then waits for the exit. */
  kill(): Promise<void>;
}

const started: TsChild[] = [];

/** Runs test/tasks/fixtures/<name> with Node, its TypeScript transpiled on load (as the store's child tests do). */
export function spawnFixture(name: string, args: string[], env: NodeJS.ProcessEnv = {}): TsChild {
  const child = spawn(process.execPath, ['--import', REGISTER, `${FIXTURE_DIR}${name}`, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Line);
    } catch {
      lines.push({ event: 'text', text: line });
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const handle: TsChild = {
    child,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    until: async (what, pred, timeoutMs = 20_000) => {
      let done = false;
      void exited.then(() => (done = true));
      return waitFor(() => {
        if (pred(lines)) return lines;
        if (done) throw new Error(`${name} exited before ${what}; stderr: ${stderr}; lines: ${JSON.stringify(lines)}`);
        return null;
      }, timeoutMs, `${name}: ${what}`, 10);
    },
    send: (text) => child.stdin!.write(`${text}\n`),
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
  };
  started.push(handle);
  return handle;
}

/** Kills every fixture process started by this file's tests (call in afterEach). */
export async function killFixtures(): Promise<void> {
  await Promise.all(started.splice(0).map((c) => c.kill()));
}

/** A JSON request to the daemon's API, returning status and parsed body. */
export async function api<T = Record<string, unknown>>(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
}
