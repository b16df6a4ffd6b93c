/**
 * Named locks (docs/coordination.md): one holder at a time across every job, script and host sharing the daemon.
 * A lock taken inside a run is released when the run ends, however it ends; one whose process died, or that was not
 * renewed within its ttl, is taken over by the next caller. Locks are not re-entrant: asking again for a lock you
 * hold waits (or returns null) like anyone else.
 *
 * @example
 * ```ts
 * import { lock } from 'nightshift/sdk';
 * const held = await lock('publish', { ttl: '2m', wait: '30s' });   // Lock | null
 * if (held === null) process.exit(75);                              // someone else is publishing: try later
 * try {
 *   await publishBatch();
 *   await held.renew();                                             // still at it: another ttl from now
 *   await publishMore();
 * } finally {
 *   await held.release();
 * }
 * ```
 *
 * CLI twin: `nightshift lock NAME [--ttl D] [--wait D] -- CMD…` (exit 75 when the lock stays held). HTTP:
 * `POST /api/v1/locks/NAME` `{ ttl, wait, pid }`, `POST …/renew` `{ token, ttl }`, `POST …/release` `{ token }`.
 */
import { COORDINATION } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import { call, daemonFromEnv, durationArg, NightshiftError, type DaemonAddress } from './client.ts';

/** What the daemon answers for a held lock. */
export interface LockRecordJson {
  name: string;
  token: string;
  run_id: string | null;
  pid: number;
  node: string;
  acquired_at: string;
  expires_at: string | null;
}

export interface LockOptions {
  /** How long the lock lasts without a renewal: '30s' (the default), or milliseconds. */
  ttl?: string | number;
  /** How long to wait for it when it is held: '0s' (the default: do not wait), or milliseconds. */
  wait?: string | number;
}

export interface Lock {
  readonly name: string;
  /** Proves the holding; renew and release send it. */
  readonly token: string;
  /** When the lock lapses unless renewed (ISO-8601). */
  readonly expiresAt: string | null;
  /** Another `ttl` (default: the one it was taken with) from now. Throws NightshiftError `not_held` when it lapsed and was taken. */
  renew(ttl?: string | number): Promise<void>;
  /** Same as `renew`, for those who think of it as extending. */
  extend(ttl?: string | number): Promise<void>;
  /** Lets go; false when it was no longer held (it lapsed and someone took it). Safe to call twice. */
  release(): Promise<boolean>;
  /** The daemon's record of the holding, as last taken or renewed. */
  toJSON(): LockRecordJson;
}

/** One request waits at most this long server-side (the daemon's own cap is 55 s); longer waits ask again. */
const REQUEST_WAIT_MS = 50_000;

export type LockFunction = (name: string, options?: LockOptions) => Promise<Lock | null>;

/** `lock` against a given daemon (the CLI uses this); `lock` below finds the daemon in the environment. */
export function lockClient(daemon: () => DaemonAddress, holderPid: number = process.pid): LockFunction {
  return async (name, options = {}) => {
    const address = daemon();
    const ttl = durationArg(options.ttl ?? COORDINATION.lock.ttl);
    const waitMs = toMs(options.wait ?? COORDINATION.lock.wait);
    const deadline = Date.now() + waitMs;
    const path = `/locks/${encodeURIComponent(name)}`;
    for (;;) {
      const thisWait = Math.max(0, Math.min(REQUEST_WAIT_MS, deadline - Date.now()));
      try {
        const record = await call<LockRecordJson>(address, 'POST', path, {
          body: { ttl, wait: `${thisWait}ms`, pid: holderPid },
          timeoutMs: thisWait + 10_000,
        });
        return heldLock(address, record, ttl);
      } catch (error) {
        if (!(error instanceof NightshiftError && error.code === 'lock_held')) throw error;
        if (Date.now() >= deadline) return null;
      }
    }
  };
}

function heldLock(address: DaemonAddress, taken: LockRecordJson, ttl: string): Lock {
  let record = taken;
  let released = false;
  const path = `/locks/${encodeURIComponent(taken.name)}`;
  const renew = async (again?: string | number) => {
    record = await call<LockRecordJson>(address, 'POST', `${path}/renew`, { body: { token: record.token, ttl: durationArg(again ?? ttl) } });
  };
  return {
    name: taken.name,
    token: taken.token,
    get expiresAt() {
      return record.expires_at;
    },
    renew,
    extend: renew,
    async release() {
      if (released) return false;
      released = true;
      return (await call<{ released: boolean }>(address, 'POST', `${path}/release`, { body: { token: record.token } })).released;
    },
    toJSON: () => record,
  };
}

/** Milliseconds of a duration given as '30s' or as a number of ms (the SDK's convention). */
function toMs(value: string | number): number {
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value);
  } catch {
    throw new NightshiftError(`wait must be a duration like 0s, 30s or 5m, or milliseconds; got ${JSON.stringify(value)}`, 0, 'bad_request');
  }
}

/** Takes a named lock through the daemon named by the environment; null when it stays held for `wait`. */
export const lock: LockFunction = lockClient(() => daemonFromEnv());
