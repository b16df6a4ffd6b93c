/**
 * The exec channel with real child processes: the notification JSON arrives on stdin, a non-zero exit is a
 * retryable failure quoting stderr, and nothing it started outlives the send (abort, SIGTERM-proof, backgrounded).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChannel } from '../../src/alerts/channels/index.ts';
import type { Channel } from '../../src/alerts/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { channelError, notify, signal } from './helpers.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nightshift-exec-channel-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const shell = (script: string): Channel => createChannel('cmd', { type: 'exec', command: { kind: 'shell', script } });
const file = (name: string) => join(dir, name);
const readPid = (name: string) => Number(readFileSync(file(name), 'utf8').trim());

/** Gone, or a zombie nobody has reaped yet (PID 1 in a container may not reap): either way not running. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    return true;
  }
}

describe('exec channel', () => {
  it('runs a shell command with the notification JSON on stdin and the event in its environment', async () => {
    const notification = notify();
    await shell(`cat > '${file('in.json')}'; printf '%s %s %s' "$NIGHTSHIFT_EVENT" "$NIGHTSHIFT_INCIDENT_ID" "$NIGHTSHIFT_INCIDENT_KIND" > '${file('env')}'`).send(notification, signal());
    expect(JSON.parse(readFileSync(file('in.json'), 'utf8'))).toEqual(notification);
    expect(readFileSync(file('env'), 'utf8')).toBe(`incident.opened ${notification.incident.id} crash_loop`);
  });

  it('runs an argv command without a shell', async () => {
    const out = file('argv.json');
    const code = `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>require('fs').writeFileSync(process.argv[1],s))`;
    const channel = createChannel('cmd', { type: 'exec', command: { kind: 'argv', argv: [process.execPath, '-e', code, out] } });
    await channel.send(notify('incident.resolved'), signal());
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ event: 'incident.resolved', project: 'seo-scanner' });
  });

  it('a non-zero exit is retryable and carries the last stderr lines', async () => {
    const error = await channelError(shell(`cat >/dev/null; for i in 1 2 3 4 5 6 7; do echo "noise $i" >&2; done; echo 'curl: (6) Could not resolve host' >&2; exit 3`).send(notify(), signal()));
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('exec /bin/sh -c: exited with code 3: noise 4 | noise 5 | noise 6 | noise 7 | curl: (6) Could not resolve host');
  });

  it('a command that does not read stdin still counts by its exit code', async () => {
    await shell('exit 0').send(notify(), signal());
    expect((await channelError(shell('exit 1').send(notify(), signal()))).retryable).toBe(true);
  });

  it('a program that does not exist is not retryable', async () => {
    const channel = createChannel('cmd', { type: 'exec', command: { kind: 'argv', argv: [join(dir, 'no-such-notifier')] } });
    const error = await channelError(channel.send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/cannot start \(ENOENT\)/);
  });

  it('when the signal aborts, kills the command and what it started, then rejects as retryable', async () => {
    const controller = new AbortController();
    const sending = shell(`sleep 300 & echo $! > '${file('child.pid')}'; echo $$ > '${file('sh.pid')}'; wait`).send(notify(), controller.signal);
    await waitFor(() => existsSync(file('sh.pid')) && existsSync(file('child.pid')), 5000, 'the command to start');
    const [sh, sleeper] = [readPid('sh.pid'), readPid('child.pid')];
    expect(isGone(sh)).toBe(false);
    controller.abort();
    const error = await channelError(sending);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/killed, the delivery deadline passed/);
    expect(isGone(sh)).toBe(true);
    await waitFor(() => isGone(sleeper), 5000, `the background sleep (pid ${sleeper}) to be gone`);
  });

  it('a command that ignores SIGTERM is SIGKILLed after the grace', async () => {
    const controller = new AbortController();
    const sending = shell(`trap '' TERM; echo $$ > '${file('sh.pid')}'; while :; do sleep 1; done`).send(notify(), controller.signal);
    await waitFor(() => existsSync(file('sh.pid')), 5000, 'the command to start');
    const sh = readPid('sh.pid');
    controller.abort();
    expect((await channelError(sending)).retryable).toBe(true);
    expect(isGone(sh)).toBe(true);
  });

  it('leaves nothing running after a successful exit', async () => {
    await shell(`sleep 300 & echo $! > '${file('bg.pid')}'; exit 0`).send(notify(), signal());
    const background = readPid('bg.pid');
    await waitFor(() => isGone(background), 5000, `the backgrounded sleep (pid ${background}) to be gone`);
  });

  it('does not start at all when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await channelError(shell(`touch '${file('ran')}'`).send(notify(), controller.signal));
    expect(error.retryable).toBe(true);
    expect(existsSync(file('ran'))).toBe(false);
  });
});
