import type { RetryPolicy } from '../config/types.ts';
import type { Run, RunEnd } from '../store/types.ts';

/** Runs lost to a daemon death (or stopped by a shutdown) are retried without charge, at most this many per chain. */
export const MAX_FREE_RETRIES_PER_CHAIN = 3;

/** Backoff never goes below this, whatever the jitter draws (DESIGN.md: a 100 ms floor for backoff). */
const MIN_BACKOFF_MS = 100;

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th retry
 * waits a uniformly random time in [0, min(maxBackoff, backoff × 2^(n-1))], so retries of many failing jobs spread
 * out instead of hammering a rate-limited API in lockstep.
 */
export function backoffMs(policy: RetryPolicy, retryNumber: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(retryNumber - 1, 0), 30);
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** exponent);
  return Math.max(MIN_BACKOFF_MS, Math.round(random() * ceiling));
}

/** A failure the job's retry policy applies to: the job's own failure, not a skip, a start failure or an operator's kill. */
export function isChargeableFailure(end: Pick<RunEnd, 'status' | 'reason'>): boolean {
  if (end.status === 'failed') return end.reason !== 'start_failed';
  if (end.status === 'timed_out') return true;
  if (end.status === 'killed') return end.reason === 'stalled' || end.reason === 'memory';
  return false;
}

/** A run that ended through no fault of the job: retried once even with `retries: 0`, without spending the budget. */
export function isFreeRetry(end: Pick<RunEnd, 'status' | 'reason'>): boolean {
  return end.status === 'lost' || (end.status === 'killed' && end.reason === 'shutdown');
}

/** EX_TEMPFAIL (sysexits.h): "try again later". */
export const EXIT_TEMPFAIL = 75;

/**
 * A run that asked to be tried again later rather than failed: it set a Retry-After (a rate limit's) and then exited
 * 75, and that moment was still ahead when it ended. Judged at the run's end, not when someone looks, so the queue
 * (which gives the attempt back) and the run watch (which opens no run_failed) always agree about the same run.
 */
export function asksToRetryLater<R extends Pick<Run, 'exit_code' | 'retry_after_at' | 'ended_at'>>(
  run: R,
  nowMs: number,
): run is R & { retry_after_at: string } {
  if (run.exit_code !== EXIT_TEMPFAIL || run.retry_after_at === null) return false;
  return Date.parse(run.retry_after_at) > (run.ended_at === null ? nowMs : Date.parse(run.ended_at));
}

export type RetryDecision = { retry: false; why: string } | { retry: true; delayMs: number; free: boolean };

/**
 * Whether `run`, ending as `end`, gets another attempt. `lostInChain` counts free retries already used in its chain
 * (see Store.countLostInChain), so `attempt - 1 - lostInChain` is how many retries the job has spent.
 */
export function decideRetry(
  policy: RetryPolicy,
  run: Pick<Run, 'attempt'>,
  end: Pick<RunEnd, 'status' | 'reason'>,
  lostInChain: number,
  random?: () => number,
): RetryDecision {
  if (isFreeRetry(end)) {
    if (lostInChain >= MAX_FREE_RETRIES_PER_CHAIN) {
      return { retry: false, why: `lost ${lostInChain} times in a row; not retrying again` };
    }
    return { retry: true, delayMs: 0, free: true };
  }
  if (!isChargeableFailure(end)) return { retry: false, why: 'not a retryable failure' };
  const spent = run.attempt - 1 - lostInChain;
  if (spent >= policy.max) return { retry: false, why: `retries exhausted (${policy.max})` };
  return { retry: true, delayMs: backoffMs(policy, spent + 1, random), free: false };
}
