/**
 * Sends sd_notify datagrams (READY=1, WATCHDOG=1 …) to systemd's NOTIFY_SOCKET.
 *
 * Node has no AF_UNIX SOCK_DGRAM socket, so the daemon sends through the `unix-dgram` addon: the datagram then comes
 * from the daemon's own pid, which is what `NotifyAccess=main` accepts and what systemd attributes without a race.
 * When the addon is missing (an optional dependency that failed to build) or the socket is abstract (`@…`, which the
 * addon cannot address), it falls back to running `systemd-notify --pid=<daemon pid>`: as root systemd-notify signs
 * the message with the daemon's pid; unprivileged it cannot, and the unit needs `NotifyAccess=all` (docs/decisions.md).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

export interface NotifySender {
  readonly kind: 'socket' | 'systemd-notify';
  /** Sends one message (newline-separated KEY=VALUE lines); rejects when it could not be handed to the socket. */
  send(message: string): Promise<void>;
  close(): void;
}

/** The part of unix-dgram's API used here (it ships no types). */
interface UnixDgramSocket {
  on(event: 'error', listener: (error: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, path: string, callback: (error?: Error) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/** The addon, or null when it is not installed or did not build. */
export function loadUnixDgram(): UnixDgramModule | null {
  try {
    return createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
  } catch {
    return null;
  }
}

export function openNotifySender(socketPath: string, options: { preferCommand?: boolean } = {}): NotifySender {
  const addon = socketPath.startsWith('@') || options.preferCommand ? null : loadUnixDgram();
  return addon ? socketSender(addon, socketPath) : commandSender(socketPath);
}

function socketSender(addon: UnixDgramModule, socketPath: string): NotifySender {
  const socket = addon.createSocket('unix_dgram');
  let closed = false;
  // Errors are also given to the send callback; the event must have a listener or it would throw.
  socket.on('error', () => {});
  return {
    kind: 'socket',
    send: (message) =>
      new Promise((resolve, reject) => {
        if (closed) return resolve();
        const buf = Buffer.from(message);
        socket.send(buf, 0, buf.length, socketPath, (error) => (error ? reject(error) : resolve()));
      }),
    close: () => {
      if (!closed) socket.close();
      closed = true;
    },
  };
}

function commandSender(socketPath: string): NotifySender {
  return {
    kind: 'systemd-notify',
    send: (message) =>
      new Promise((resolve, reject) => {
        const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...message.split('\n').filter(Boolean)], {
          env: { ...process.env, NOTIFY_SOCKET: socketPath },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`systemd-notify exited ${code}: ${stderr.trim()}`))));
      }),
    close: () => {},
  };
}
