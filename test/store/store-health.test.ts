/**
 * StoreHealth and the writes retried through it, on their own: only an unreachable database counts as down; the probe
 * runs only while down, on a doubling backoff capped at its maximum, and stops once the store answers; /healthz's
 * guard reports the outage instead of failing; a run end whose first commit went through (its answer lost) is not an
 * error on the retry. The clock is faked (STYLE.md 11); the real outage is test/daemon/store-outage.test.ts.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { StoreError } from '../../src/store/errors.ts';
import { observeStore } from '../../src/store/observed-store.ts';
import { StoreHealth } from '../../src/store/store-health.ts';
import type { Run, RunEnd, Store } from '../../src/store/types.ts';
import { finishUntilStored } from '../../src/scheduler/until-stored.ts';
import { silentLogger } from '../../src/util/logger.ts';

const unreachable = () => new StoreError('cannot_open', 'cannot reach postgres://u:***@db/x (connect ECONNREFUSED)');

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function tracker(probe: () => Promise<unknown>) {
  const changes: Array<string | null> = [];
  const health = new StoreHealth({ probe, probeInitialMs: 500, probeMaxMs: 2000, onChange: (down) => changes.push(down?.error ?? null) });
  return { health, changes };
}

it('is down only for an unreachable database, probes with a doubling, capped backoff only while down, and is up again on success', async () => {
  let answers = false;
  const probe = vi.fn(async () => {
    if (!answers) throw unreachable();
  });
  const { health, changes } = tracker(probe);

  health.failed(new StoreError('conflict', 'a run id used twice'));
  health.failed(new StoreError('busy', 'statement timeout'));
  expect(health.isDown).toBe(false);
  await vi.advanceTimersByTimeAsync(60_000);
  expect(probe).not.toHaveBeenCalled(); // a healthy store is never polled

  health.failed(unreachable());
  expect(health.reason()).toEqual({ subject: 'daemon', kind: 'store', summary: expect.stringMatching(/^the database is unreachable: cannot reach postgres:\/\/u:\*\*\*@db/) });
  const probeTimes: number[] = [];
  probe.mockImplementation(async () => {
    probeTimes.push(Date.now());
    if (!answers) throw unreachable();
  });
  const start = Date.now();
  await vi.advanceTimersByTimeAsync(500 + 1000 + 2000 + 2000);
  expect(probeTimes.map((t) => t - start)).toEqual([500, 1500, 3500, 5500]);

  const back = health.whenUp();
  answers = true;
  await vi.advanceTimersByTimeAsync(2000);
  await back;
  expect(health.isDown).toBe(false);
  expect(health.reason()).toBeNull();
  expect(changes).toEqual([expect.stringContaining('cannot reach'), null]);
  const calls = probe.mock.calls.length;
  await vi.advanceTimersByTimeAsync(60_000);
  expect(probe.mock.calls.length).toBe(calls);
  health.stop();
});

it('an observed store feeds it: a failed call marks it down, any call that succeeds marks it up', async () => {
  let reachable = true;
  const store = {
    getRun: async () => {
      if (!reachable) throw unreachable();
      return null;
    },
  } as unknown as Store;
  const { health } = tracker(async () => {
    throw unreachable();
  });
  const observed = observeStore(store, health);
  reachable = false;
  await expect(observed.getRun('x')).rejects.toThrow(/cannot reach/);
  expect(health.isDown).toBe(true);
  reachable = true;
  await expect(observed.getRun('x')).resolves.toBeNull();
  expect(health.isDown).toBe(false);
  health.stop();
});

it("guards /healthz's reasons: the outage is the reason while down, and a read that fails because of it reports it", async () => {
  const { health } = tracker(async () => {
    throw unreachable();
  });
  await expect(health.guard(async () => [{ subject: 'job', kind: 'job_late', summary: 'late' }])).resolves.toHaveLength(1);
  await expect(
    health.guard(async () => {
      health.failed(unreachable());
      throw unreachable();
    }),
  ).resolves.toEqual([expect.objectContaining({ kind: 'store' })]);
  await expect(health.guard(async () => [])).resolves.toEqual([expect.objectContaining({ kind: 'store' })]);
  health.stop();
  await expect(tracker(async () => {}).health.guard(async () => Promise.reject(new Error('a bug')))).rejects.toThrow('a bug');
});

it('retries a run end until it is stored, and takes "not running" after a lost answer as the end recorded', async () => {
  const end: RunEnd = { status: 'succeeded', reason: null, exit_code: 0, signal: null, ended_at: '2026-01-01T00:00:00.000Z' };
  const recorded = { id: 'r1', status: 'succeeded' } as Run;
  let attempts = 0;
  const store = {
    finishRun: async () => {
      attempts++;
      if (attempts <= 2) throw unreachable();
      throw new StoreError('not_running', 'run r1 is not running'); // the 2nd attempt committed; its answer was lost
    },
    getRun: async () => recorded,
  } as unknown as Store;
  const retry = { logger: silentLogger(), signal: new AbortController().signal, context: {} };
  const finished = finishUntilStored(store, 'r1', end, null, retry);
  await vi.advanceTimersByTimeAsync(10_000);
  await expect(finished).resolves.toBe(recorded);
  expect(attempts).toBe(3);

  // Without a failed attempt first, "not running" is the caller's error, as before.
  const fresh = { finishRun: async () => Promise.reject(new StoreError('not_running', 'not running')) } as unknown as Store;
  await expect(finishUntilStored(fresh, 'r2', end, null, retry)).rejects.toThrow('not running');

  // Aborted (shutdown ran out of time): the last error is thrown instead of retrying for ever.
  const stop = new AbortController();
  const down = { finishRun: async () => Promise.reject(unreachable()) } as unknown as Store;
  const giving = finishUntilStored(down, 'r3', end, null, { ...retry, signal: stop.signal });
  const settled = expect(giving).rejects.toThrow(/cannot reach/);
  await vi.advanceTimersByTimeAsync(1000);
  stop.abort();
  await vi.advanceTimersByTimeAsync(20_000);
  await settled;
});
