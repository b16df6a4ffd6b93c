/**
 * Named locks (seed 002's lockfiles, without their 30-minute guess): `lock(name, { ttl, wait })` from the SDK, the
 * API and `nightshift lock`. A lock is a row of the store's `locks` table named `lock:<name>`, so taking one is one
 * write transaction and two processes can never both get it.
 *
 * A holding ends when it is released; when the run that holds it ends, however it ends (finishRun deletes every lock
 * row naming the run, in the transaction that ends it); when its ttl passes without a renewal; or, on this host, as
 * soon as its holder process is gone — a `nightshift lock` killed with SIGKILL is reclaimed by the next caller at once.
 * A holder on another host (a PostgreSQL fleet) cannot be probed, and is trusted until its ttl passes.
 * Locks are not re-entrant: asking again for a lock you hold answers "held" (by you).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { COORDINATION } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import type { ProcessProbe } from '../scheduler/holder-liveness.ts';
import { NAMED_LOCK_PREFIX, isNamedLock, type LockRecord, type Store } from '../store/types.ts';
import { CoordinationError } from './errors.ts';
import { checkName } from './names.ts';

const MIN_TTL_MS = parseDuration(COORDINATION.lock.min_ttl);
const POLL_MS = parseDuration(COORDINATION.lock.poll_every);

/** A lock as the API shows it to anyone: who holds it and until when (never its token). */
export interface LockView {
  name: string;
  run_id: string | null;
  pid: number;
  node: string;
  acquired_at: string;
  /** When it lapses unless renewed. */
  expires_at: string | null;
}

/** What the caller that took a lock gets: the view plus the token that renews and releases it. */
export interface HeldLock extends LockView {
  token: string;
}

/** Who asks for a lock: a run (released when it ends), and the process to probe (its own, or the daemon's). */
export interface LockClaimant {
  run_id: string | null;
  pid: number;
  /** From /proc/PID/stat, so a reused pid is not mistaken for the holder; null when unknown. */
  pid_start: number | null;
}

export interface LockServiceDeps {
  store: Store;
  probe: ProcessProbe;
  /** Holders can be probed through /proc only when every holder is on this host (one SQLite file). */
  sameHost: boolean;
  node: string;
  now?: () => number;
}

export type AcquireOutcome = { lock: HeldLock } | { lock: null; heldBy: LockView };

export class LockService {
  readonly #deps: LockServiceDeps;
  readonly #now: () => number;

  constructor(deps: LockServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Takes `name` for `ttlMs`, waiting up to `waitMs` for its holder to let go (looking again every poll_every).
   * Resolves with the lock, or with who still holds it when the wait is over (or `signal` aborted it).
   */
  async acquire(name: string, claimant: LockClaimant, options: { ttlMs: number; waitMs: number; signal?: AbortSignal }): Promise<AcquireOutcome> {
    checkName(name, 'lock name');
    checkTtl(options.ttlMs);
    if (!Number.isFinite(options.waitMs) || options.waitMs < 0) throw new CoordinationError('bad_request', `wait must be 0s or longer; got ${options.waitMs} ms`);
    const deadline = this.#now() + options.waitMs;
    for (;;) {
      const outcome = await this.tryAcquire(name, claimant, options.ttlMs);
      const left = deadline - this.#now();
      if (outcome.lock !== null || left <= 0 || options.signal?.aborted) return outcome;
      try {
        await sleep(Math.min(POLL_MS, left), undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return outcome; // the caller went away
      }
    }
  }

  /** One attempt: free, lapsed, or held by a holder that is provably gone → taken; else who holds it. */
  async tryAcquire(name: string, claimant: LockClaimant, ttlMs: number): Promise<AcquireOutcome> {
    const token = randomUUID();
    const request = {
      name: NAMED_LOCK_PREFIX + name,
      holder: { token, run_id: claimant.run_id, pid: claimant.pid, pid_start: claimant.pid_start, node: this.#deps.node },
      ttl_ms: ttlMs,
    };
    const nowIso = () => new Date(this.#now()).toISOString();
    let result = await this.#deps.store.acquireLock(request, nowIso());
    if (!result.acquired && !(await this.#holderAlive(result.heldBy))) {
      result = await this.#deps.store.acquireLock({ ...request, replaceToken: result.heldBy.token }, nowIso());
    }
    if (!result.acquired) return { lock: null, heldBy: viewOf(result.heldBy) };
    const held = await this.#deps.store.getLock(request.name);
    // Taken a moment ago in its own transaction; only a reclaim racing within the same instant could replace it.
    if (held === null || held.token !== token) return held === null ? this.tryAcquire(name, claimant, ttlMs) : { lock: null, heldBy: viewOf(held) };
    return { lock: { ...viewOf(held), token } };
  }

  /** Extends the holding to `ttlMs` from now; `not_held` when the token no longer holds it (it lapsed and was taken). */
  async renew(name: string, token: string, ttlMs: number): Promise<HeldLock> {
    checkName(name, 'lock name');
    checkTtl(ttlMs);
    const renewed = await this.#deps.store.renewLock(NAMED_LOCK_PREFIX + name, token, ttlMs, new Date(this.#now()).toISOString());
    const held = renewed ? await this.#deps.store.getLock(NAMED_LOCK_PREFIX + name) : null;
    if (held === null || held.token !== token) {
      throw new CoordinationError('not_held', `lock ${name} is no longer held with this token: it was released, or it lapsed (ttl) and was taken over`);
    }
    return { ...viewOf(held), token };
  }

  /** Lets go of `name`; false when `token` did not hold it (already released or taken over). */
  async release(name: string, token: string): Promise<boolean> {
    checkName(name, 'lock name');
    return this.#deps.store.releaseLock(NAMED_LOCK_PREFIX + name, token);
  }

  /** The holding of `name`, or null when it is free (a lapsed or orphaned holding counts as free). */
  async get(name: string): Promise<LockView | null> {
    checkName(name, 'lock name');
    const held = await this.#deps.store.getLock(NAMED_LOCK_PREFIX + name);
    return held !== null && (await this.#holderAlive(held)) ? viewOf(held) : null;
  }

  /** Every named lock held now, by name. */
  async list(): Promise<LockView[]> {
    const views: LockView[] = [];
    for (const held of await this.#deps.store.listLocks()) {
      if (isNamedLock(held.name) && (await this.#holderAlive(held))) views.push(viewOf(held));
    }
    return views;
  }

  /**
   * Its ttl has not passed and — on this host — its process is alive. Unlike a job lock, the run's marker does not
   * count: a `nightshift lock` killed inside a run must not leave its lock held until the run ends.
   */
  async #holderAlive(held: LockRecord): Promise<boolean> {
    if (held.expires_at !== null && Date.parse(held.expires_at) < this.#now()) return false;
    if (!this.#deps.sameHost) return true;
    return this.#deps.probe.isAlive(held.pid, held.pid_start);
  }
}

function viewOf(held: LockRecord): LockView {
  return {
    name: held.name.slice(NAMED_LOCK_PREFIX.length),
    run_id: held.run_id,
    pid: held.pid,
    node: held.node,
    acquired_at: held.acquired_at,
    expires_at: held.expires_at,
  };
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < MIN_TTL_MS) {
    throw new CoordinationError('bad_request', `ttl must be at least ${COORDINATION.lock.min_ttl} (e.g. 30s, 10m); got ${ttlMs} ms`);
  }
}
