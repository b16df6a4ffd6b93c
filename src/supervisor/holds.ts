/** Names and texts shared by containment and `status`: which breakers stand behind a job, and how to get out. */
import type { JobConfig } from '../config/types.ts';
import type { BreakerRecord, JobState } from '../store/types.ts';

/** The breaker of a job's outputs (its group's, or its own) and of its spend budget, as stored. */
export function breakerNames(job: Pick<JobConfig, 'name' | 'breaker' | 'budget'>): { outputs: string | null; spend: string | null } {
  return {
    outputs: job.breaker ? `outputs:${job.breaker.group ?? job.name}` : null,
    spend: job.budget ? `spend:${job.name}` : null,
  };
}

/** The open breaker holding this job, if any. */
export function openBreakerOf(job: Pick<JobConfig, 'name' | 'breaker' | 'budget'>, open: readonly BreakerRecord[]): BreakerRecord | null {
  const names = breakerNames(job);
  return open.find((b) => b.name === names.outputs || b.name === names.spend) ?? null;
}

export type HeldState = 'paused' | 'halted' | 'breaker_open' | 'crash_loop';

/** What holds a job (the first of paused, halted, breaker_open, crash_loop), why, and the way out; null if nothing. */
export function heldState(job: JobConfig, state: JobState | undefined, open: readonly BreakerRecord[]): { state: HeldState; reason: string; hint: string } | null {
  if (state?.paused) return { state: 'paused', reason: 'paused', hint: `nightshift resume ${job.name}` };
  if (state?.hold?.state === 'halted') {
    const why = state.hold.reason === 'start_failed' ? 'its command could not start' : 'its retry budget is spent';
    const hint = state.hold.reason === 'start_failed' ? `fix the command or its PATH, then reload the config or \`nightshift resume ${job.name}\`` : `fix the cause, then \`nightshift resume ${job.name}\``;
    return { state: 'halted', reason: `${state.hold.reason}: ${why} (since ${state.hold.since})`, hint };
  }
  const breaker = openBreakerOf(job, open);
  if (breaker) return { state: 'breaker_open', reason: `${breaker.name} open since ${breaker.opened_at}${breaker.detail ? `: ${breaker.detail}` : ''}`, hint: `check what it produced, then \`nightshift resume ${job.name}\`` };
  if (state?.hold?.state === 'crash_loop') {
    return { state: 'crash_loop', reason: `failing quickly again and again (since ${state.hold.since}); restarting at the longest backoff`, hint: `read \`nightshift logs ${job.name}\`, fix the cause; it clears once it stays up` };
  }
  return null;
}
