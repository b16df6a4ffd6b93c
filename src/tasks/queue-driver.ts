/**
 * Drives a job from its queue (`queue: NAME` on the job): whenever a task is due, the queue's concurrency, rate and
 * retry budget allow, the daemon has a slot and the job is not held, it claims the task and starts a run of the job
 * with trigger `task`. The claim is handed to the run as it starts — bound to the run id in the store before the
 * process is spawned, and its payload put in the run's environment (runEnv) — and settled by the run's end
 * (run-tasks.ts).
 *
 * Up to the queue's `concurrency` task runs go at once (BullMQ's and graphile-worker's meaning): a task run takes a
 * lock of its own task (`job:<name>#task:<id>`), not the job's lock, so the queue's claim — which counts the queue's
 * running tasks in the store — is what bounds them, and `limits.max_concurrent_runs` and memory admission still
 * apply to each start. Other starts of the job (schedule, `run`, retries) take the job lock as before. Starts are
 * made one at a time: the next task is claimed once the run started for the last one holds it.
 */
import { ADMISSION, TASKS } from '../config/defaults.ts';
import type { JobConfig } from '../config/types.ts';
import { parseDuration } from '../config/units.ts';
import type { Run, Task } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';
import type { ClaimHolder, Consumer } from './queue-gate.ts';
import { afterFailure, uncharged } from './retry.ts';
import { DRIVER_PREFIX } from './run-tasks.ts';
import type { TaskService } from './task-service.ts';

export interface QueueDriverDeps {
  service: TaskService;
  logger: Logger;
  /**
   * Asks the dispatcher for a run of the job (trigger `task`) under the task's own lock; the run as recorded:
   * running, queued or skipped.
   */
  startRun: (job: JobConfig, task: Task) => Promise<Run>;
  /** Ends a queued run that will not get its task (the dispatcher had no slot for it). */
  cancelQueued: (run: Run) => Promise<void>;
  /**
   * Whether the daemon has a slot for one more run (`limits.max_concurrent_runs`): without one a task is not claimed,
   * rather than claimed, refused and given back (a run's end looks again).
   */
  hasRoom: () => boolean;
  /** Why the job may not start on its own now (paused, halted), or null. */
  held: (job: string) => Promise<string | null>;
  now?: () => number;
}

/** A start queued for want of memory is looked at again this much later, as the dispatcher does for its queued runs. */
const ADMISSION_RECHECK_MS = parseDuration(ADMISSION.recheck);

export class QueueDriver implements Consumer {
  readonly #deps: QueueDriverDeps;
  readonly #now: () => number;
  #job: JobConfig;
  #starting = false;
  /**
   * Claimed for the run being started; taken by runEnv as the run's process is set up. `runId` is set once the
   * dispatcher has recorded the run, so the end of another run of the job is never taken for this one's.
   */
  #pending: { task: Task; runId: string | null } | null = null;
  /** A start was refused (skipped or queued): wait for a wake (resume, reload, a run's end) before claiming again. */
  #refused = false;
  /** After a start that had to wait (memory admission): try again then, even if no run ends meanwhile. */
  readonly #recheck = new DueTimer(() => this.wake());

  constructor(job: JobConfig, deps: QueueDriverDeps) {
    this.#job = job;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get job(): string {
    return this.#job.name;
  }

  get queue(): string {
    return this.#job.queue ?? '';
  }

  /** A reloaded definition of the same job (same queue). */
  update(job: JobConfig): void {
    this.#job = job;
  }

  async wants(): Promise<boolean> {
    if (this.#starting || this.#pending !== null || this.#refused || !this.#deps.hasRoom()) return false;
    return (await this.#deps.held(this.job)) === null;
  }

  holder(): ClaimHolder {
    return { claimed_by: `${DRIVER_PREFIX}${this.job}`, run_id: null, lease_ms: this.#deps.service.settingsOf(this.queue).leaseMs };
  }

  deliver(task: Task): void {
    this.#starting = true;
    this.#pending = { task, runId: null };
    void this.#start(task);
  }

  /** The driver is dropped (shutdown, or its job left the queue): no recheck fires after. */
  close(): void {
    this.#recheck.cancel();
  }

  /** Something that held the job back may have changed: try again. */
  wake(): void {
    this.#refused = false;
    this.#deps.service.poke(this.queue);
  }

  /**
   * The environment hook: binds the pending task to `run` (committed before the process starts) and returns the
   * variables that hand it over. Empty for a run that is not this driver's.
   */
  async runEnv(run: Run, daemonUrl: string): Promise<Record<string, string>> {
    const pending = this.#pending;
    if (run.trigger !== 'task' || pending === null || (pending.runId !== null && pending.runId !== run.id)) return {};
    const task = pending.task;
    if (task.lease_token === null) return {};
    this.#pending = null;
    const bound = await this.#deps.service.store.bindTaskToRun(task.id, task.lease_token, run.id, iso(this.#now()));
    // The run holds its task (or has lost it): the next task may be claimed for the next run.
    this.#deps.service.poke(this.queue);
    if (!bound) {
      this.#deps.logger.warn({ job: this.job, task: task.id, run: run.id }, 'the task claimed for this run was lost before it started; the run gets none');
      return {};
    }
    const env: Record<string, string> = {
      NIGHTSHIFT_TASK_ID: task.id,
      NIGHTSHIFT_TASK_QUEUE: task.queue,
      NIGHTSHIFT_TASK_ATTEMPT: String(task.attempt),
      NIGHTSHIFT_TASK_URL: `${daemonUrl}/api/v1/tasks/${task.id}`,
    };
    const payload = JSON.stringify(task.payload);
    if (Buffer.byteLength(payload) <= TASKS.env_payload) env.NIGHTSHIFT_TASK_PAYLOAD = payload;
    return env;
  }

  /** A run ended: a task claimed for it (this job's) that never reached it (the start failed early) is released. */
  async runEnded(run: Run): Promise<void> {
    this.#refused = false;
    const pending = this.#pending;
    if (run.job !== this.job || run.trigger !== 'task' || pending === null || pending.runId !== run.id) return;
    const task = pending.task;
    this.#pending = null;
    const release = afterFailure(task, this.#deps.service.settingsOf(this.queue), this.#now());
    await this.#deps.service.releaseClaim(task, { lease_token: task.lease_token }, release, `run ${run.id} ended (${run.status}) before it got the task`);
  }

  async #start(claimed: Task): Promise<void> {
    let run: Run | null = null;
    try {
      run = await this.#deps.startRun(this.#job, claimed);
    } catch (error) {
      this.#deps.logger.error({ err: error, job: this.job }, 'starting a run for a task failed');
    } finally {
      this.#starting = false;
    }
    if (run?.status === 'running') {
      if (this.#pending?.task === claimed) this.#pending.runId = run.id; // runEnv takes the task, or runEnded frees it
      return;
    }
    const task = this.#pending?.task ?? null;
    this.#pending = null;
    this.#refused = true;
    if (run?.status === 'queued') {
      await this.#deps.cancelQueued(run);
      this.#recheck.arm(this.#now() + ADMISSION_RECHECK_MS);
    }
    this.#deps.logger.info({ job: this.job, run: run?.id, status: run?.status, reason: run?.reason }, 'a task run could not start now; the task waits');
    if (task !== null) {
      await this.#deps.service.releaseClaim(task, { lease_token: task.lease_token }, uncharged(this.#now()), null);
    }
  }
}
