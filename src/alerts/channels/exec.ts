/**
 * A command as a channel: runs the configured command with the notification JSON (the webhook body) on stdin.
 * Exit 0 means delivered; anything else is a retryable failure carrying the last lines of stderr.
 *
 * The command leads its own process group (spawned detached), so one kill reaches whatever it started. When the
 * outbox's signal aborts, the group gets SIGTERM, then SIGKILL after KILL_GRACE_MS, and send() settles only once the
 * command has exited. After any exit the group gets SIGKILL too: a notifier that backgrounded a `curl &` and
 * returned does not leave it behind (STYLE.md practice 4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ChannelConfig } from '../../config/types.ts';
import { ChannelError, type Channel, type Notification } from '../types.ts';

export type ExecConfig = Extract<ChannelConfig, { type: 'exec' }>;

/** Between SIGTERM and SIGKILL when the deadline passes: a notifier has nothing to save. */
export const KILL_GRACE_MS = 2000;
/** How long to drain stderr after the exit, in case something outside the group still holds the pipe. */
const DRAIN_MS = 1000;
/** Stderr kept for the error message: the end is what explains a failure. */
const STDERR_KEEP_BYTES = 8192;
const STDERR_LINES = 5;

export function execChannel(name: string, config: ExecConfig): Channel {
  return { name, type: 'exec', send: (notification, signal) => send(config, notification, signal) };
}

async function send(config: ExecConfig, notification: Notification, signal: AbortSignal): Promise<void> {
  const what = config.command.kind === 'shell' ? '/bin/sh -c' : config.command.argv[0];
  if (signal.aborted) throw new ChannelError(`exec ${what}: gave up before starting, the delivery deadline passed`, { retryable: true });
  const [file, args] = config.command.kind === 'shell' ? ['/bin/sh', ['-c', config.command.script]] : [config.command.argv[0], config.command.argv.slice(1)];
  const { event, project, incident, text } = notification;
  const child = spawn(file, args, {
    detached: true,
    stdio: ['pipe', 'ignore', 'pipe'],
    env: {
      ...process.env,
      // For a shell one-liner that does not want to parse JSON.
      NIGHTSHIFT_EVENT: event,
      NIGHTSHIFT_PROJECT: project,
      NIGHTSHIFT_INCIDENT_ID: incident.id,
      NIGHTSHIFT_INCIDENT_KIND: incident.kind,
      NIGHTSHIFT_INCIDENT_SUBJECT: incident.subject,
    },
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stderr = collectTail(child);
  // A command that never reads stdin makes the write fail with EPIPE: that is its business, not a crash.
  child.stdin?.on('error', () => {});
  child.stdin?.end(JSON.stringify({ event, project, incident, text }));

  const stopGrace = new AbortController();
  let killedForDeadline = false;
  const onAbort = () => {
    killedForDeadline = true;
    void terminate(child, stopGrace.signal);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let code: number | null;
  let killedBy: NodeJS.Signals | null;
  try {
    [code, killedBy] = await exited;
  } catch (error) {
    // spawn failed (ENOENT, EACCES): the same command will fail the same way until the config changes.
    const reason = isErrno(error) ? error.code : 'spawn error';
    throw new ChannelError(`exec ${what}: cannot start (${reason})`, { retryable: false });
  } finally {
    signal.removeEventListener('abort', onAbort);
    stopGrace.abort();
    killGroup(child, 'SIGKILL');
  }
  const tail = await stderr;
  if (killedForDeadline) throw new ChannelError(`exec ${what}: killed, the delivery deadline passed${tail}`, { retryable: true });
  if (code === 0) return;
  const how = code === null ? `was killed by ${killedBy ?? 'a signal'}` : `exited with code ${code}`;
  throw new ChannelError(`exec ${what}: ${how}${tail}`, { retryable: true });
}

/** SIGTERM to the group; SIGKILL after the grace unless the command exits first (which aborts `exitedSignal`). */
async function terminate(child: ChildProcess, exitedSignal: AbortSignal): Promise<void> {
  killGroup(child, 'SIGTERM');
  try {
    await sleep(KILL_GRACE_MS, undefined, { signal: exitedSignal });
  } catch {
    return; // exited within the grace; send() has already SIGKILLed the group
  }
  killGroup(child, 'SIGKILL');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Resolves, once stderr has ended (or DRAIN_MS after the exit), to ": line | line" of its last lines, or "". */
async function collectTail(child: ChildProcess): Promise<string> {
  const stream = child.stderr;
  if (stream === null) return '';
  let kept = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > STDERR_KEEP_BYTES) kept = kept.subarray(kept.length - STDERR_KEEP_BYTES);
  });
  const drained = new AbortController();
  await Promise.race([
    once(stream, 'close').catch(() => undefined),
    once(child, 'exit').then(() => sleep(DRAIN_MS, undefined, { signal: drained.signal })).catch(() => undefined),
  ]);
  drained.abort();
  stream.destroy();
  const lines = kept.toString('utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const last = lines.slice(-STDERR_LINES).join(' | ');
  return last === '' ? '' : `: ${last.length > 500 ? `…${last.slice(-500)}` : last}`;
}

function isErrno(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
