/**
 * The seam between the dispatcher and containment (src/supervisor/containment.ts): what may stop a start, and what
 * may change how a run ended and whether it is retried. The dispatcher records; the policy decides.
 */
import type { JobConfig } from '../config/types.ts';
import type { JobState, Run, RunEnd, RunReason, RunTrigger } from '../store/types.ts';

/** What may stop a start, and what may change how a run ended and whether it is retried. */
export interface RunPolicy {
  /** Why this start must be recorded as skipped instead (paused, halted, breaker_open …), or null to go ahead. */
  blockStart(job: JobConfig, trigger: RunTrigger, state: JobState): Promise<RunReason | null>;
  /**
   * Looks at a run's end before it is recorded: may rewrite it (a start failure seen in its stderr), forbid its
   * retry (a start failure, a spent budget), or hold its retry back (a Retry-After the run asked for).
   */
  reviewEnd(job: JobConfig, run: Run, end: RunEnd): Promise<{ end: RunEnd; allowRetry: boolean; minDelayMs: number }>;
  /**
   * Asked after `blockStart` let a start through: why it runs degraded (`after:` with `on_stale: degrade` and a stale
   * upstream), recorded as the run's `degraded` and given to it as NIGHTSHIFT_DEGRADED=1; null for a normal start.
   */
  degradeStart?(job: JobConfig): Promise<string | null>;
}

/** Without a policy: a paused job's automatic starts are skipped, nothing else holds it. */
export const PAUSE_ONLY: RunPolicy = {
  blockStart: async (_job, trigger, state) => (state.paused && isAutomatic(trigger) ? 'paused' : null),
  reviewEnd: async (_job, _run, end) => ({ end, allowRetry: true, minDelayMs: 0 }),
};

/** Starts nobody asked for just now; a pause or a hold stops these, never a person's `run`. */
export function isAutomatic(trigger: RunTrigger): boolean {
  return trigger !== 'manual' && trigger !== 'api' && trigger !== 'exec';
}

