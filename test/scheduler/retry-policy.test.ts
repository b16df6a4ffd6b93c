import { describe, expect, it } from 'vitest';
import { asksToRetryLater, backoffMs, decideRetry, MAX_FREE_RETRIES_PER_CHAIN } from '../../src/scheduler/retry-policy.ts';
import type { RetryPolicy } from '../../src/config/types.ts';

const policy: RetryPolicy = { max: 3, backoffMs: 1_000, maxBackoffMs: 5_000, budget: null };
const failed = { status: 'failed', reason: null } as const;

describe('backoffMs (exponential, full jitter)', () => {
  it('draws from [0, backoff × 2^(n-1)], capped at max_backoff, never below 100 ms', () => {
    expect(backoffMs(policy, 1, () => 1)).toBe(1_000);
    expect(backoffMs(policy, 2, () => 1)).toBe(2_000);
    expect(backoffMs(policy, 3, () => 1)).toBe(4_000);
    expect(backoffMs(policy, 4, () => 1)).toBe(5_000);
    expect(backoffMs(policy, 40, () => 1)).toBe(5_000);
    expect(backoffMs(policy, 3, () => 0.5)).toBe(2_000);
    expect(backoffMs(policy, 1, () => 0)).toBe(100);
  });

  it('spreads retries out instead of firing them in lockstep', () => {
    const draws = new Set(Array.from({ length: 50 }, () => backoffMs(policy, 3)));
    expect(draws.size).toBeGreaterThan(10);
    for (const d of draws) expect(d).toBeLessThanOrEqual(4_000);
  });
});

describe('decideRetry', () => {
  it('retries: 3 means up to three retries after the first attempt (four attempts)', () => {
    expect(decideRetry(policy, { attempt: 1 }, failed, 0).retry).toBe(true);
    expect(decideRetry(policy, { attempt: 3 }, failed, 0).retry).toBe(true);
    expect(decideRetry(policy, { attempt: 4 }, failed, 0)).toEqual({ retry: false, why: 'retries exhausted (3)' });
  });

  it('retries timeouts, stalls and memory kills, but not skips, start failures or operator kills', () => {
    expect(decideRetry(policy, { attempt: 1 }, { status: 'timed_out', reason: 'timeout' }, 0).retry).toBe(true);
    expect(decideRetry(policy, { attempt: 1 }, { status: 'killed', reason: 'stalled' }, 0).retry).toBe(true);
    expect(decideRetry(policy, { attempt: 1 }, { status: 'killed', reason: 'memory' }, 0).retry).toBe(true);
    expect(decideRetry(policy, { attempt: 1 }, { status: 'failed', reason: 'start_failed' }, 0).retry).toBe(false);
    expect(decideRetry(policy, { attempt: 1 }, { status: 'killed', reason: 'replaced' }, 0).retry).toBe(false);
    expect(decideRetry(policy, { attempt: 1 }, { status: 'killed', reason: null }, 0).retry).toBe(false);
    expect(decideRetry(policy, { attempt: 1 }, { status: 'succeeded', reason: null }, 0).retry).toBe(false);
  });

  it('retries a lost run once even with retries: 0, immediately and without charging the job', () => {
    const none = { ...policy, max: 0 };
    expect(decideRetry(none, { attempt: 1 }, { status: 'lost', reason: 'daemon_restart' }, 0)).toEqual({ retry: true, delayMs: 0, free: true });
    expect(decideRetry(none, { attempt: 1 }, { status: 'killed', reason: 'shutdown' }, 0).retry).toBe(true);
  });

  it('does not charge lost attempts to the retry count', () => {
    const one = { ...policy, max: 1 };
    // attempt 1 lost (free), attempt 2 failed: one retry still available.
    expect(decideRetry(one, { attempt: 2 }, failed, 1).retry).toBe(true);
    expect(decideRetry(one, { attempt: 3 }, failed, 1).retry).toBe(false);
  });

  it('stops retrying a chain lost again and again (a job that takes the daemon down with it)', () => {
    const decision = decideRetry(policy, { attempt: 4 }, { status: 'lost', reason: 'daemon_restart' }, MAX_FREE_RETRIES_PER_CHAIN);
    expect(decision.retry).toBe(false);
  });
});

describe('asksToRetryLater (exit 75 after a Retry-After)', () => {
  const ended = '2026-12-06T07:00:00.000Z';
  const later = '2026-12-06T07:01:00.000Z';
  const now = Date.parse('2026-12-06T08:00:00.000Z'); // long after both: the run's end decides, not the clock

  it('holds for exit 75 with a Retry-After still ahead when the run ended', () => {
    expect(asksToRetryLater({ exit_code: 75, retry_after_at: later, ended_at: ended }, now)).toBe(true);
  });

  it('does not for another exit, without a Retry-After, or with one passed before the end', () => {
    expect(asksToRetryLater({ exit_code: 1, retry_after_at: later, ended_at: ended }, now)).toBe(false);
    expect(asksToRetryLater({ exit_code: 75, retry_after_at: null, ended_at: ended }, now)).toBe(false);
    expect(asksToRetryLater({ exit_code: 75, retry_after_at: ended, ended_at: later }, now)).toBe(false);
  });

  it('judges a run without an end time by the clock given', () => {
    expect(asksToRetryLater({ exit_code: 75, retry_after_at: later, ended_at: null }, Date.parse(ended))).toBe(true);
    expect(asksToRetryLater({ exit_code: 75, retry_after_at: later, ended_at: null }, now)).toBe(false);
  });
});
