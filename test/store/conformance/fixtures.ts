/**
 * Shared pieces of the conformance suite: the per-test store, fixed times, and builders for runs, locks and ends.
 * The store never reads the clock, so tests pass explicit times around T0 and need no fake timers.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { isStoreError, type StoreErrorCode } from '../../../src/store/errors.ts';
import type { LockHolder, LockRequest, NewRun, RunEnd, Store } from '../../../src/store/types.ts';
import { newRunId } from '../../../src/util/ids.ts';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

export interface StoreContext {
  /** The current test's store, migrated. */
  readonly store: Store;
}

export function useStore(open: () => Promise<OpenedStore>): StoreContext {
  let opened: OpenedStore | undefined;
  beforeEach(async () => {
    opened = await open();
    await opened.store.migrate();
  });
  afterEach(async () => {
    const current = opened;
    opened = undefined;
    await current?.cleanup();
  });
  return {
    get store(): Store {
      if (opened === undefined) throw new Error('the store is only available inside a test');
      return opened.store;
    },
  };
}

export const T0 = Date.parse('2025-06-01T12:00:00.000Z');

/** T0 plus `offsetMs`, as the ISO string the store takes. */
export function at(offsetMs: number): string {
  return new Date(T0 + offsetMs).toISOString();
}

/** A first attempt of `job`, due at T0. Ids are ULIDs made in call order, so later calls sort newer. */
export function newRun(job: string, overrides: Partial<NewRun> = {}): NewRun {
  const id = overrides.id ?? newRunId();
  return {
    id,
    job,
    attempt: 1,
    chain_id: id,
    trigger: 'schedule',
    scheduled_at: at(0),
    node: 'node-a',
    ...overrides,
  };
}

/** The next attempt of `previous`'s chain. */
export function retryOf(previous: NewRun, overrides: Partial<NewRun> = {}): NewRun {
  return newRun(previous.job, {
    attempt: previous.attempt + 1,
    chain_id: previous.chain_id,
    trigger: 'retry',
    ...overrides,
  });
}

export function holder(token: string, overrides: Partial<LockHolder> = {}): LockHolder {
  return { token, run_id: null, pid: 4242, pid_start: 987654, node: 'node-a', ...overrides };
}

export function lockRequest(name: string, token: string, overrides: Partial<LockRequest> = {}): LockRequest {
  return { name, holder: holder(token), ...overrides };
}

export function ended(status: RunEnd['status'], endedAt: string, overrides: Partial<RunEnd> = {}): RunEnd {
  return { status, reason: null, exit_code: null, signal: null, ended_at: endedAt, ...overrides };
}

/** Starts a fresh run of `job` under lock `job` and returns it; fails the test if the lock was held. */
export async function startedRun(store: Store, job: string, startedAt = at(0), overrides: Partial<NewRun> = {}) {
  const run = newRun(job, overrides);
  const result = await store.startRun(run, lockRequest(job, `token-${run.id}`), startedAt);
  if (!result.started) throw new Error(`lock ${job} unexpectedly held by ${result.heldBy.token}`);
  return result.run;
}

/** Awaits `promise` and checks that it rejected with a StoreError carrying `code`. */
export async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  const outcome = await promise.then(
    (value: unknown) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!outcome.rejected) throw new Error(`expected StoreError '${code}', but it resolved to ${JSON.stringify(outcome.value)}`);
  expect(isStoreError(outcome.error, code), `expected StoreError '${code}', got ${String(outcome.error)}`).toBe(true);
}
