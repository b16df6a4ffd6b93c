/**
 * A stand-in for systemd's notify socket: a real AF_UNIX SOCK_DGRAM socket bound by a python3 process (not by
 * nightshift's own addon, so the test does not check the sender against itself). Each datagram is written to a file
 * as one JSON line with its arrival time (ms since the epoch), so a test can ask what arrived when — even about a
 * moment when the test's own process, which hosts the daemon, was blocked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/wait-for.ts';

const LISTENER = `
import json, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
with open(sys.argv[2], 'a') as out:
    while True:
        data = sock.recv(65536)
        out.write(json.dumps({'at': time.time() * 1000, 'msg': data.decode()}) + '\\n')
        out.flush()
`;

export interface Datagram {
  at: number;
  msg: string;
}

export interface NotifyListener {
  socketPath: string;
  received(): Datagram[];
  /** Messages containing `line` as one of their KEY=VALUE lines. */
  with(line: string): Datagram[];
  stop(): Promise<void>;
}

export async function startNotifyListener(dir: string): Promise<NotifyListener> {
  const socketPath = join(dir, 'notify.sock');
  const file = join(dir, 'notify.jsonl');
  const child: ChildProcess = spawn('python3', ['-c', LISTENER, socketPath, file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`the python3 notify listener exited: ${stderr}`);
    return existsSync(socketPath);
  }, 10_000, 'the notify socket to be bound');
  const received = (): Datagram[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Datagram)
      : [];
  return {
    socketPath,
    received,
    with: (line) => received().filter((d) => d.msg.split('\n').includes(line)),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
