/**
 * Spawns store-child.ts and turns its stdout into awaitable events, so tests wait on what the child says it did —
 * never on a timer. A child that exits before saying what is awaited rejects the wait with its stderr.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildEvent, ChildMessage, ChildTask } from './child-protocol.ts';

const REGISTER = fileURLToPath(new URL('./register-ts.mjs', import.meta.url));
const CHILD = fileURLToPath(new URL('./store-child.ts', import.meta.url));

export interface StoreChild {
  /** The next message with one of these events not taken yet (messages that arrive before they are awaited are kept). */
  next<E extends ChildEvent>(...events: E[]): Promise<Extract<ChildMessage, { event: E }>>;
  go(): void;
  /** Kills the child if it is still running and waits for it to exit. */
  stop(): Promise<void>;
}

export function spawnStoreChild(task: ChildTask): StoreChild {
  const child = spawn(process.execPath, ['--import', REGISTER, CHILD, JSON.stringify(task)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const received: ChildMessage[] = [];
  const waiters: { events: ChildEvent[]; resolve(m: ChildMessage): void; reject(e: Error): void }[] = [];
  let stderr = '';
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const settle = (): void => {
    for (const waiter of [...waiters]) {
      const index = received.findIndex((m) => waiter.events.includes(m.event));
      if (index >= 0) {
        const [message] = received.splice(index, 1);
        waiters.splice(waiters.indexOf(waiter), 1);
        if (message !== undefined) waiter.resolve(message);
      } else if (exit !== null) {
        waiters.splice(waiters.indexOf(waiter), 1);
        const said = received.map((m) => JSON.stringify(m)).join('\n');
        waiter.reject(new Error(`store child ${exit} before ${waiter.events.join(' | ')}\n${said}\n${stderr}`));
      }
    }
  };

  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    received.push(JSON.parse(line) as ChildMessage);
    settle();
  });
  child.once('close', (code, signal) => {
    exit = `exited (${signal ?? code})`;
    settle();
  });

  return {
    next<E extends ChildEvent>(...events: E[]) {
      return new Promise<Extract<ChildMessage, { event: E }>>((resolve, reject) => {
        // The message matched one of `events`, so it is of the extracted type.
        waiters.push({ events, resolve: resolve as (m: ChildMessage) => void, reject });
        settle();
      });
    },
    go() {
      child.stdin.write('go\n');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
