/**
 * What happens to the tasks a run holds when it ends, however it ends (DESIGN.md: "a lock or task lease held by a
 * run is released when that run ends"). Called for every run end, and once at daemon start for runs that ended while
 * no daemon watched (a kill -9: recovery marked them lost).
 *
 * - The task a queue-driven run was started for (claimed by `job:<name>`) is settled by the run's end: succeeded →
 *   done; exit 75 after a Retry-After → the queue pauses until then and the task waits, its attempt given back;
 *   lost to a daemon restart or a shutdown → back at once, free; anything else → a failed attempt (backoff, or the
 *   dead letter once the queue's retries are spent).
 * - A task the run claimed itself (SDK or CLI with its own token) and did not finish goes back now: its holder is
 *   gone, as when a lease lapses.
 */
import { asksToRetryLater } from '../scheduler/retry-policy.ts';
import type { Run, Task } from '../store/types.ts';
import { iso } from '../util/time.ts';
import { afterAbandon, afterFailure, uncharged } from './retry.ts';
import type { TaskService } from './task-service.ts';

/** Claimed-by prefix of the tasks a queue-driven run was started for. */
export const DRIVER_PREFIX = 'job:';

export async function settleRunTasks(service: TaskService, run: Run, nowMs: number): Promise<Task[]> {
  const store = service.store;
  const held = await store.listTasks({ run_id: run.id, states: ['running'], limit: 10_000 });
  const settled: Task[] = [];
  for (const task of held) {
    const fence = { lease_token: task.lease_token, run_id: run.id };
    const queue = service.settingsOf(task.queue);
    if (!task.claimed_by?.startsWith(DRIVER_PREFIX)) {
      const why = `run ${run.id} ended (${run.status}) while holding it`;
      const released = await service.releaseClaim(task, fence, afterAbandon(task, queue, nowMs), why);
      if (released) settled.push(released);
      continue;
    }
    if (run.status === 'succeeded') {
      const done = await store.completeTask(task.id, fence, null, iso(nowMs));
      service.poke(task.queue);
      if (done.ok) settled.push(done.task);
      continue;
    }
    let released: Task | null;
    if (asksToRetryLater(run, nowMs)) {
      // Exit 75 after a Retry-After (see retryAfter in the SDK): the queue waits it out, the attempt is given back.
      const retryAfter = Date.parse(run.retry_after_at);
      await service.pause(task.queue, retryAfter, `run ${run.id} of ${run.job} exited 75 after a Retry-After`);
      released = await service.releaseClaim(task, fence, uncharged(retryAfter), `run ${run.id} exited 75 (rate limited) until ${run.retry_after_at}`);
    } else if (run.status === 'lost' || (run.status === 'killed' && run.reason === 'shutdown')) {
      released = await service.releaseClaim(task, fence, uncharged(nowMs), `run ${run.id} was ${run.status} (${run.reason ?? 'no reason'}): not the task's failure`);
    } else {
      released = await service.releaseClaim(task, fence, afterFailure(task, queue, nowMs), describeEnd(run));
    }
    if (released) settled.push(released);
  }
  return settled;
}

function describeEnd(run: Run): string {
  const parts = [`run ${run.id} ${run.status}`];
  if (run.reason) parts.push(`(${run.reason})`);
  if (run.exit_code !== null) parts.push(`exit ${run.exit_code}`);
  if (run.signal) parts.push(run.signal);
  if (run.error) parts.push(`: ${run.error}`);
  return parts.join(' ');
}

/**
 * At daemon start: tasks held by runs that are no longer running (a daemon killed with -9 recorded no end for them;
 * recovery has since marked them lost) are settled as those runs ended.
 */
export async function settleOrphanedTasks(service: TaskService, nowMs: number): Promise<number> {
  const store = service.store;
  const running = await store.listTasks({ states: ['running'], limit: 100_000 });
  const runIds = [...new Set(running.flatMap((t) => (t.run_id === null ? [] : [t.run_id])))];
  let settled = 0;
  for (const runId of runIds) {
    const run = await store.getRun(runId);
    if (run?.status === 'running' || run?.status === 'queued') continue;
    const ended: Run = run ?? lostRun(runId);
    settled += (await settleRunTasks(service, ended, nowMs)).length;
  }
  return settled;
}

/** A run pruned from the history: treated as lost. */
function lostRun(id: string): Run {
  return {
    id, job: '?', attempt: 1, status: 'lost', reason: 'daemon_restart', trigger: 'task', exit_code: null, signal: null,
    scheduled_at: iso(0), started_at: null, ended_at: null, duration_ms: null, pid: null, degraded: null,
    orphans_killed: 0, node: '?', chain_id: id, error: null, heartbeat_at: null, retry_after_at: null,
  };
}
