/**
 * The records the dispatcher and recovery write for a start: a new run, the job lock it is started under, and the end
 * of a run that never started. Pure: the caller supplies the time and who it is.
 */
import type { LockRequest, NewRun, RunEnd } from '../store/types.ts';
import { newRunId } from '../util/ids.ts';
import { iso } from '../util/time.ts';
import type { StartRequest } from './dispatcher-types.ts';

/** Job locks are named `job:<name>`, or `job:<name>#<key>` for a start that locks one key of the job (task runs). */
export const JOB_LOCK_PREFIX = 'job:';

/** A run record for a request by `node` at `nowMs`: a first attempt starts its own retry chain. */
export function newRunRecord(job: string, req: StartRequest, node: string, nowMs: number): NewRun {
  const id = newRunId(nowMs);
  return {
    id,
    job,
    attempt: req.attempt ?? 1,
    chain_id: req.chainId ?? id,
    trigger: req.trigger,
    scheduled_at: iso(req.scheduledAtMs),
    node,
    fire: req.fire ?? false,
  };
}

/** The job lock a run is started under, held by this process for the run. */
export function jobLockRequest(job: string, runId: string, holder: { node: string; pidStart: number | null }, lockKey?: string): LockRequest {
  return {
    name: JOB_LOCK_PREFIX + job + (lockKey === undefined ? '' : `#${lockKey}`),
    holder: { token: runId, run_id: runId, pid: process.pid, pid_start: holder.pidStart, node: holder.node },
  };
}

/** The end of a start that was skipped (overlap, missed, paused …), recorded at `nowMs`. */
export function skippedEnd(reason: RunEnd['reason'], error: string | null, nowMs: number): RunEnd {
  return { status: 'skipped', reason, exit_code: null, signal: null, ended_at: iso(nowMs), error };
}

/** The end of a run that failed before its command ran. */
export function failedEnd(reason: RunEnd['reason'], nowMs: number): RunEnd {
  return { status: 'failed', reason, exit_code: null, signal: null, ended_at: iso(nowMs) };
}
