import { EventEmitter } from 'node:events';
import type { JobConfig } from '../config/types.ts';
import type { LockRequest, NewRun, Run, RunEnd, StartRunResult } from '../store/types.ts';
import { isStoreError, StoreError } from '../store/errors.ts';
import { failedEnd, JOB_LOCK_PREFIX, jobLockRequest, newRunRecord, skippedEnd } from './run-records.ts';
import { iso } from '../util/time.ts';
import { isHolderAlive } from './holder-liveness.ts';
import { decideRetry } from './retry-policy.ts';
import { overlapOnItsNode, resolveOverlap } from './overlap.ts';
import { endFromResult } from './run-end.ts';
import { endDeadHoldersRun } from './reclaim.ts';
import { PAUSE_ONLY, type RunPolicy } from './run-policy.ts';
import { finishUntilStored, untilStored, type StoreRetry } from './until-stored.ts';
import { ADMISSION } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';

const ADMISSION_RECHECK_MS = parseDuration(ADMISSION.recheck);
const ADMISSION_MAX_WAIT_MS = parseDuration(ADMISSION.max_wait);

import type { DispatcherDeps, DispatcherEvents, StartRequest } from './dispatcher-types.ts';

export type { DispatcherDeps, DispatcherEvents, StartRequest } from './dispatcher-types.ts';

interface ActiveRun {
  run: Run;
  controller: AbortController;
  done: Promise<void>;
}


/**
 * Turns start requests into runs: applies pause, concurrency and the job's lock with its overlap policy, records
 * every decision in the store before acting on it, supervises the process through the launcher, and records how it
 * ended together with the retry its policy allows.
 *
 * The only in-memory state is the set of process handles of runs this daemon supervises; their state lives in the
 * store.
 */
export class Dispatcher {
  readonly events = new EventEmitter<DispatcherEvents>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly deps: DispatcherDeps;
  private readonly now: () => number;
  private accepting = true;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private admissionTimer: NodeJS.Timeout | null = null;
  /** Aborted when shutdown can wait no longer for run ends the store did not take (until-stored.ts). */
  private readonly endWrites = new AbortController();

  private readonly policy: RunPolicy;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
    this.policy = deps.policy ?? PAUSE_ONLY;
    this.now = deps.now ?? Date.now;
  }

  get activeCount(): number {
    return this.active.size;
  }

  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  /** The runs this daemon supervises now, as they were when they started. */
  activeRuns(): Run[] {
    return [...this.active.values()].map((a) => a.run);
  }

  /** Handles one start request; resolves once the decision is recorded (not when the run ends). */
  async request(job: JobConfig, req: StartRequest): Promise<Run> {
    const run = newRunRecord(job.name, req, this.deps.node, this.now());
    const state = await this.deps.store.getJobState(job.name);
    const blocked = await this.policy.blockStart(job, req.trigger, state);
    if (blocked !== null) return this.skip(run, blocked);
    run.degraded = (await this.policy.degradeStart?.(job)) ?? null;
    if (this.pinnedElsewhere(job)) return this.queueForItsNode(job, run);
    if (!this.accepting || this.atCapacity()) return this.queue(run);
    const refused = await this.memoryRefusal(job.name);
    if (refused !== null) return this.queue(run); // waits for memory instead of starting into the OOM killer
    return this.startFresh(job, run, req.lockKey);
  }

  /** A job pinned to another node (`jobs.X.node`, several nodes only) runs there, never here. */
  private pinnedElsewhere(job: JobConfig): boolean {
    return this.deps.pinning === true && job.node !== null && job.node !== this.deps.node;
  }

  /** Hands a start to the node the job is pinned to, through the queue (it wakes on the queued run). */
  private async queueForItsNode(job: JobConfig, run: NewRun): Promise<Run> {
    const held = await this.deps.store.getLock(JOB_LOCK_PREFIX + job.name);
    return (await overlapOnItsNode(job, held, this.deps.cancelRemote)) === 'skip' ? this.skip(run, 'overlap') : this.queue(run);
  }

  /**
   * This node was declared dead while it was away and its runs were given to others (src/cluster/): what it still
   * runs of them is killed. The store no longer lets it record their ends; they are recorded `lost` already.
   */
  abandonAll(reason: string): void {
    for (const active of this.active.values()) active.controller.abort(reason);
  }

  /** Queues a start for later (a service's restart after its backoff); the scheduler wakes for it. */
  async queueStart(job: JobConfig, req: StartRequest): Promise<Run> {
    return this.queue(newRunRecord(job.name, req, this.deps.node, this.now()));
  }

  /** Records a schedule fire that will not run (missed while the daemon was down, or catch_up: none). */
  async recordMissed(job: JobConfig, scheduledAtMs: number): Promise<Run> {
    return this.skip(newRunRecord(job.name, { trigger: 'schedule', scheduledAtMs, fire: true }, this.deps.node, this.now()), 'missed');
  }

  /** Tries to start a queued run that is due; a run that still cannot start stays queued. */
  async startQueued(run: Run): Promise<Run> {
    const job = this.deps.jobs()[run.job];
    if (!job) {
      await this.deps.store.cancelQueuedRun(run.id, skippedEnd(null, `job ${run.job} is no longer in the config`, this.now()));
      return run;
    }
    const state = await this.deps.store.getJobState(job.name);
    const blocked = await this.policy.blockStart(job, run.trigger, state);
    if (blocked !== null) {
      await this.deps.store.cancelQueuedRun(run.id, skippedEnd(blocked, null, this.now()));
      return run;
    }
    if (!this.accepting || this.atCapacity()) return run;
    const refused = await this.memoryRefusal(job.name);
    if (refused !== null) {
      if (this.now() - Date.parse(run.scheduled_at) > ADMISSION_MAX_WAIT_MS) {
        await this.deps.store.cancelQueuedRun(run.id, skippedEnd('memory', `waited ${ADMISSION.max_wait} for memory: ${refused}`, this.now()));
        this.deps.logger.warn({ job: job.name, run: run.id }, `run skipped after waiting ${ADMISSION.max_wait} for memory: ${refused}`);
      }
      return run;
    }
    // Its upstream is judged as it starts, not as it was queued (a retry may start hours later).
    const degraded = (await this.policy.degradeStart?.(job)) ?? null;
    if (degraded !== run.degraded) await this.deps.store.setQueuedRunDegraded(run.id, degraded);
    let result: StartRunResult;
    try {
      result = await this.startWithReclaim((lock) => this.deps.store.startQueuedRun(run.id, lock, iso(this.now())), job, run.id);
    } catch (error) {
      // Another process (an `exec`, or a second node) took or cancelled it first: nothing to do.
      if (error instanceof StoreError && error.code === 'not_queued') return run;
      throw error;
    }
    if (result.started) this.launch(job, result.run);
    return result.started ? result.run : run;
  }

  /** Stops a run this daemon supervises; its tree is killed and it ends `killed` with `reason`. */
  cancel(runId: string, reason: string): boolean {
    const active = this.active.get(runId);
    if (!active) return false;
    active.controller.abort(reason);
    return true;
  }

  /** Resolves when the run ends (immediately when it is not supervised here). */
  async waitForRun(runId: string): Promise<void> {
    await this.active.get(runId)?.done;
  }

  /**
   * Starts due queued runs (retries, queued overlaps, runs that waited for a slot). Serialised: a call while one is
   * in progress makes that one go round again instead of racing it.
   */
  pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.startDueQueued();
        } while (this.pumpAgain);
      } catch (error) {
        this.deps.logger.error({ err: error }, 'starting queued runs failed; will try again on the next tick');
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  /**
   * Shutdown: accept no new starts, let running runs finish for up to `graceMs`, then kill what remains. Killed runs
   * end `killed` with `reason: shutdown` and are queued to run again at the next start.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const all = () => Promise.all([...this.active.values()].map((a) => a.done));
    if (this.active.size === 0) return void (await this.pumping);
    // A service never finishes on its own: waiting out the grace for it only delays the stop (systemd and PM2 signal
    // services at once). It gets SIGTERM now, and SIGKILL after its kill_grace.
    const jobs = this.deps.jobs();
    for (const active of this.active.values()) if (jobs[active.run.job]?.kind === 'service') active.controller.abort('shutdown');
    const timer = AbortSignal.timeout(graceMs);
    await Promise.race([all(), new Promise((resolve) => timer.addEventListener('abort', resolve, { once: true }))]);
    for (const active of this.active.values()) active.controller.abort('shutdown');
    // Ends the store does not take (the database is away) get one more grace; then the next start recovers those runs.
    const giveUp = setTimeout(() => this.endWrites.abort(), graceMs);
    await all();
    clearTimeout(giveUp);
    // The last run's end starts a pump; let it finish before the caller closes the store under it.
    await this.pumping;
  }

  /** Why memory admission refuses a start now (and a recheck is scheduled), or null. */
  private async memoryRefusal(job: string): Promise<string | null> {
    const refused = (await this.deps.admit?.()) ?? null;
    if (refused === null) return null;
    this.deps.logger.warn({ job }, `a run of ${job} waits for memory: ${refused}`);
    if (this.admissionTimer === null) {
      this.admissionTimer = setTimeout(() => {
        this.admissionTimer = null;
        void this.pump();
      }, ADMISSION_RECHECK_MS);
      this.admissionTimer.unref();
    }
    return refused;
  }

  /** Kills every supervised run now (a second SIGTERM during shutdown). */
  killAll(reason: string): void {
    this.accepting = false;
    for (const active of this.active.values()) active.controller.abort(reason);
  }

  private async startDueQueued(): Promise<void> {
    const due = await this.deps.store.listRuns({ statuses: ['queued'], dueBefore: iso(this.now()), limit: 100 });
    for (const run of due) {
      if (!this.accepting || this.atCapacity()) return;
      // Its job lock is held here (task runs hold locks of their own, not the job's): no use trying now.
      if ([...this.active.values()].some((a) => a.run.job === run.job && a.run.trigger !== 'task')) continue;
      const job = this.deps.jobs()[run.job];
      if (job !== undefined && this.pinnedElsewhere(job)) continue;
      await this.startQueued(run);
    }
  }

  private async startFresh(job: JobConfig, run: NewRun, lockKey?: string): Promise<Run> {
    const result = await this.startWithReclaim((lock) => this.deps.store.startRun(run, lock, iso(this.now())), job, run.id, lockKey);
    if (result.started) {
      this.launch(job, result.run);
      return result.run;
    }
    if (lockKey !== undefined) return this.skip(run, 'overlap');
    const decision = await resolveOverlap(job, result.heldBy, {
      store: this.deps.store,
      cancelLocal: (runId) => this.cancelAndWait(runId, 'replaced'),
      killExternal: this.deps.killExternal,
      ...(this.deps.cancelRemote ? { cancelRemote: this.deps.cancelRemote } : {}),
      logger: this.deps.logger,
    });
    if (decision === 'queue') return this.queue(run);
    if (decision === 'start') {
      const retry = await this.startWithReclaim((lock) => this.deps.store.startRun(run, lock, iso(this.now())), job, run.id);
      if (retry.started) {
        this.launch(job, retry.run);
        return retry.run;
      }
    }
    return this.skip(run, 'overlap');
  }

  /** Takes the job's lock (or its own), reclaiming it once when its holder is provably dead (crashed exec, killed daemon). */
  private async startWithReclaim(
    start: (lock: LockRequest) => Promise<StartRunResult>,
    job: JobConfig,
    runId: string,
    lockKey?: string,
  ): Promise<StartRunResult> {
    const lock = jobLockRequest(job.name, runId, { node: this.deps.node, pidStart: this.deps.pidStart }, lockKey);
    const first = await start(lock);
    if (first.started) return first;
    if (await isHolderAlive(first.heldBy, this.deps.probe, this.deps.sameHost, this.now())) return first;
    this.deps.logger.warn({ job: job.name, holder: first.heldBy }, 'reclaiming the lock of a holder that is gone');
    const second = await start({ ...lock, replaceToken: first.heldBy.token });
    if (second.started) await endDeadHoldersRun(this.deps.store, first.heldBy, iso(this.now()));
    return second;
  }

  private launch(job: JobConfig, run: Run): void {
    const controller = new AbortController();
    const done = this.supervise(job, run, controller.signal).finally(() => {
      this.active.delete(run.id);
      void this.pump();
    });
    this.active.set(run.id, { run, controller, done });
    this.events.emit('run:started', run);
  }

  private async supervise(job: JobConfig, run: Run, signal: AbortSignal): Promise<void> {
    let end: RunEnd;
    try {
      const result = await this.deps.launcher.launch(job, run, signal, (pid) => {
        this.deps.store.setRunPid(run.id, pid).catch((error: unknown) => {
          this.deps.logger.error({ err: error, run: run.id }, 'could not record the pid of a run');
        });
      });
      end = endFromResult(result, iso(this.now()));
    } catch (error) {
      end = { ...failedEnd('start_failed', this.now()), error: error instanceof Error ? error.message : String(error) };
    }
    const reviewed = await this.policy.reviewEnd(job, run, end).catch((error: unknown) => {
      this.deps.logger.error({ err: error, run: run.id }, 'reviewing the end of a run failed; recording it as it is');
      return { end, allowRetry: true, minDelayMs: 0 };
    });
    end = reviewed.end;
    // A service is brought back by its restart policy (ServiceSupervisor), not by retries; a task run's task is
    // retried by its queue (src/tasks/run-tasks.ts), which starts a new run for it.
    const decision =
      job.kind === 'service'
        ? ({ retry: false, why: 'services restart by their restart policy' } as const)
        : run.trigger === 'task'
          ? ({ retry: false, why: 'a task is retried by its queue' } as const)
          : decideRetry(job.retries, run, end, await untilStored('count lost attempts', () => this.deps.store.countLostInChain(run.chain_id), this.storeRetry(run)));
    const retry: NewRun | null =
      decision.retry && reviewed.allowRetry
        ? newRunRecord(job.name, {
            trigger: 'retry',
            scheduledAtMs: this.now() + Math.max(decision.delayMs, reviewed.minDelayMs),
            attempt: run.attempt + 1,
            chainId: run.chain_id,
          }, this.deps.node, this.now())
        : null;
    try {
      const ended = await finishUntilStored(this.deps.store, run.id, end, retry, this.storeRetry(run));
      this.deps.logger.info(
        { job: job.name, run: run.id, status: ended.status, reason: ended.reason, exit_code: ended.exit_code, retry: retry?.scheduled_at },
        `run ${ended.status}`,
      );
      // The end is stored: a failed read-back of the retry must not keep the end from being announced.
      const queuedRetry = retry === null ? null : await this.deps.store.getRun(retry.id).catch(() => null);
      this.events.emit('run:ended', ended, queuedRetry);
    } catch (error) {
      if (isStoreError(error, 'not_running')) {
        // Declared lost meanwhile (this node was cut off or stopped past cluster.dead_after): it was retried elsewhere
        // and its record stays `lost`; this node's view of it does not count.
        this.deps.logger.warn({ job: job.name, run: run.id }, 'run was taken from this node while it was away: its end here is not recorded');
        return;
      }
      // The run stays `running` in the store; the next daemon start recovers it as lost, so nothing is silently lost.
      this.deps.logger.error({ err: error, run: run.id }, 'could not record the end of a run');
    }
  }

  private storeRetry(run: Run): StoreRetry {
    return { logger: this.deps.logger, whenUp: this.deps.storeUp, signal: this.endWrites.signal, context: { job: run.job, run: run.id } };
  }

  private async cancelAndWait(runId: string, reason: string): Promise<boolean> {
    const active = this.active.get(runId);
    if (!active) return false;
    active.controller.abort(reason);
    await active.done;
    return true;
  }

  private atCapacity(): boolean {
    const max = this.deps.maxConcurrentRuns();
    return max > 0 && this.active.size >= max;
  }

  private async skip(run: NewRun, reason: RunEnd['reason']): Promise<Run> {
    const skipped = await this.deps.store.insertRun(run, skippedEnd(reason, null, this.now()));
    this.deps.logger.info({ job: run.job, run: run.id, reason }, 'run skipped');
    this.events.emit('run:skipped', skipped);
    return skipped;
  }

  private async queue(run: NewRun): Promise<Run> {
    const queued = await this.deps.store.insertRun(run, { status: 'queued' });
    this.events.emit('run:queued', queued);
    return queued;
  }
}
