/**
 * Containment: one bad job must not take the box, the budget or the audience down with it (seeds 001, 002, 003).
 * Implements the dispatcher's RunPolicy — what stops a start, what a run's end really was — and owns the holds and
 * breakers: a start failure or a spent retry budget halts the job; outputs or spend past their limit open its
 * breaker; each opens one incident, and `nightshift resume` (or, for start failures, a config reload) lets it go.
 */
import type { IncidentDesk } from '../alerts/incidents.ts';
import type { JobConfig, ResolvedConfig } from '../config/types.ts';
import type { RunTails } from '../runner/output/run-tails.ts';
import { isChargeableFailure } from '../scheduler/retry-policy.ts';
import { isAutomatic, type RunPolicy } from '../scheduler/run-policy.ts';
import type { JobHold, JobState, Run, RunEnd, RunReason, RunTrigger, Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { humanDuration, iso } from '../util/time.ts';
import { breakerNames, openBreakerOf } from './holds.ts';
import { diagnoseStartFailure, findOnHost } from './start-failure.ts';
import { startFailureIncident } from './start-failure-incident.ts';

export interface ContainmentDeps {
  store: Store;
  logger: Logger;
  config: () => ResolvedConfig;
  incidents: IncidentDesk;
  tails: RunTails;
  /** Runs this daemon supervises now, and a way to stop one (breaker: stop_running). */
  activeRuns: () => Run[];
  cancel: (runId: string, reason: 'breaker_open') => boolean;
  /** Whether the job's `after:` upstream is stale, and what to do (src/coordination/upstream.ts); absent: never. */
  upstream?: (job: JobConfig) => Promise<{ onStale: 'degrade' | 'skip'; why: string } | null>;
  now?: () => number;
}

export class Containment implements RunPolicy {
  readonly #deps: ContainmentDeps;
  readonly #now: () => number;

  constructor(deps: ContainmentDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async blockStart(job: JobConfig, trigger: RunTrigger, state: JobState): Promise<RunReason | null> {
    // A person's `run` goes through a pause, a halt and a breaker: it is how they try again.
    if (isAutomatic(trigger)) {
      if (state.paused) return 'paused';
      if (state.hold?.state === 'halted') return 'halted';
      if ((job.breaker || job.budget) && openBreakerOf(job, await this.#deps.store.listOpenBreakers())) return 'breaker_open';
    }
    // `after:` holds every start, manual ones included (DESIGN.md): a stale upstream is a fact, not a policy choice.
    if ((await this.#deps.upstream?.(job))?.onStale === 'skip') return 'upstream_stale';
    return null;
  }

  async degradeStart(job: JobConfig): Promise<string | null> {
    const stale = await this.#deps.upstream?.(job);
    return stale?.onStale === 'degrade' ? stale.why : null;
  }

  async reviewEnd(job: JobConfig, run: Run, end: RunEnd): Promise<{ end: RunEnd; allowRetry: boolean; minDelayMs: number }> {
    const durationMs = run.started_at === null ? null : Date.parse(end.ended_at) - Date.parse(run.started_at);
    const stderr = this.#deps.tails.tail(run.id);
    const failure = diagnoseStartFailure(end, durationMs, stderr);
    if (failure !== null) {
      const path = job.env.PATH ?? process.env.PATH ?? '';
      const foundAt = failure.kind === 'library' ? [] : findOnHost(failure.what, process.env.PATH);
      await this.#halt(job, 'start_failed', startFailureIncident(job, run, failure, { path, foundAt, stderr }));
      return { end: { ...end, reason: 'start_failed', error: failure.summary }, allowRetry: false, minDelayMs: 0 };
    }
    if (job.retries.budget && isChargeableFailure(end)) {
      const { count, perMs } = job.retries.budget;
      // This failure is not recorded yet: it counts as one more.
      const failures = (await this.#deps.store.countFailures(job.name, iso(this.#now() - perMs))) + 1;
      if (failures >= count) {
        await this.#halt(job, 'budget_exhausted', {
          kind: 'budget_exhausted',
          subject: job.name,
          summary: `job ${job.name} failed ${failures} times within ${humanDuration(perMs)} (retries.budget ${count}/${humanDuration(perMs)}): halted`,
          detail: {
            since: iso(this.#now()),
            run_id: run.id,
            exit_code: end.exit_code,
            stderr_tail: stderr,
            fix: `its later fires are skipped (reason: halted); find the cause with \`nightshift history ${job.name}\` and \`nightshift logs ${job.name}\`, then \`nightshift resume ${job.name}\``,
          },
        });
        return { end, allowRetry: false, minDelayMs: 0 };
      }
    }
    let minDelayMs = 0;
    if (end.exit_code === 75) {
      // EX_TEMPFAIL: "try later". A Retry-After the run reported holds the retry back (seed 003's 319 retries).
      const retryAfter = (await this.#deps.store.getRun(run.id))?.retry_after_at;
      if (retryAfter) minDelayMs = Math.max(0, Date.parse(retryAfter) - this.#now());
    }
    return { end, allowRetry: true, minDelayMs };
  }

  /** A run reports outputs (and spend): recorded, then the breakers behind its job are checked. */
  async recordOutput(run: Run, outputs: number, spend: number): Promise<void> {
    const at = this.#now();
    await this.#deps.store.recordOutput({ job: run.job, run_id: run.id, outputs, spend, at: iso(at) });
    const job = this.#deps.config().jobs[run.job];
    if (job) await this.#checkBreakers(job, at);
  }

  /**
   * `nightshift resume`: lets the job go again — its hold lifted, its breakers closed, their incidents resolved. A
   * held service waiting out its longest backoff has that restart dropped, so the caller's start brings it up now:
   * the operator says it is fixed. A closed breaker is reset: what was reported before now no longer counts (see
   * #since), or the outputs that opened it, still inside its window, would open it again at the next output.
   */
  async resume(job: JobConfig): Promise<void> {
    const { store, incidents } = this.#deps;
    const held = (await store.getJobState(job.name)).hold;
    await store.setJobHold(job.name, null);
    if (job.kind === 'service' && held !== null) {
      for (const queued of await store.listRuns({ job: job.name, statuses: ['queued'], limit: 10 })) {
        const end = { status: 'skipped' as const, reason: null, exit_code: null, signal: null, ended_at: iso(this.#now()), error: 'replaced by a start after resume' };
        await store.cancelQueuedRun(queued.id, end);
      }
    }
    const names = breakerNames(job);
    const at = iso(this.#now());
    for (const name of [names.outputs, names.spend]) if (name) await store.closeBreaker(name, at);
    for (const kind of ['start_failure', 'budget_exhausted', 'crash_loop'] as const) await incidents.resolve(kind, job.name);
    await incidents.resolve('breaker_open', job.breaker?.group ?? job.name);
    await incidents.resolve('budget_exhausted', `${job.name} (spend)`);
  }

  /** A config reload tries start failures again (the PATH or the command may have been fixed). */
  async reload(): Promise<void> {
    for (const state of await this.#deps.store.listJobStates()) {
      if (state.hold?.reason !== 'start_failed') continue;
      await this.#deps.store.setJobHold(state.job, null);
      await this.#deps.incidents.resolve('start_failure', state.job);
      this.#deps.logger.info({ job: state.job }, 'config reloaded: trying the job that could not start again');
    }
  }

  async #halt(job: JobConfig, reason: JobHold['reason'], incident: Parameters<IncidentDesk['open']>[0]): Promise<void> {
    await this.#deps.store.setJobHold(job.name, { state: 'halted', reason, since: iso(this.#now()) });
    this.#deps.logger.warn({ job: job.name, reason }, `job ${job.name} halted: ${incident.summary}`);
    await this.#deps.incidents.open(incident);
  }

  async #checkBreakers(job: JobConfig, at: number): Promise<void> {
    const { store, config } = this.#deps;
    const jobs = Object.values(config().jobs);
    const names = breakerNames(job);
    if (job.breaker && names.outputs) {
      const group = job.breaker.group;
      const behind = group === null ? [job] : jobs.filter((j) => j.breaker?.group === group);
      const { outputs } = await store.sumOutputs(behind.map((j) => j.name), await this.#since(names.outputs, at, job.breaker.perMs));
      if (outputs >= job.breaker.outputs) {
        const detail = `${outputs} outputs in ${humanDuration(job.breaker.perMs)}, limit ${job.breaker.outputs}`;
        if (await store.openBreaker({ name: names.outputs, reason: 'outputs', opened_at: iso(at), detail })) {
          const subject = group ?? job.name;
          await this.#deps.incidents.open({
            kind: 'breaker_open',
            subject,
            summary: `breaker ${subject} opened: ${detail}; ${behind.map((j) => j.name).join(', ')} will not start`,
            detail: { since: iso(at), fix: `check what was produced (seed 002: an agent loop posted 47 articles in 8 minutes); then \`nightshift resume ${job.name}\`` },
          });
          if (job.breaker.stopRunning) this.#stopRunning(behind.map((j) => j.name));
        }
      }
    }
    if (job.budget && names.spend) {
      const { spend } = await store.sumOutputs([job.name], await this.#since(names.spend, at, job.budget.perMs));
      if (spend >= job.budget.spend) {
        const detail = `spent ${spend.toFixed(2)} in ${humanDuration(job.budget.perMs)}, budget ${job.budget.spend.toFixed(2)}`;
        if (await store.openBreaker({ name: names.spend, reason: 'spend', opened_at: iso(at), detail })) {
          await this.#deps.incidents.open({
            kind: 'budget_exhausted',
            subject: `${job.name} (spend)`,
            summary: `job ${job.name} ${detail}: it will not start until resumed`,
            detail: { since: iso(at), fix: `check the spend (a loop calling a paid API?); then \`nightshift resume ${job.name}\`` },
          });
        }
      }
    }
  }

  /**
   * Where a breaker's window starts: `per` back from now, or at its last reset if that is later — a reset starts the
   * count afresh (a circuit breaker's reset), and from `per` after it the window is rolling again.
   */
  async #since(breaker: string, at: number, perMs: number): Promise<string> {
    const resetAt = await this.#deps.store.breakerResetAt(breaker);
    return iso(Math.max(at - perMs, resetAt === null ? -Infinity : Date.parse(resetAt)));
  }

  #stopRunning(jobs: string[]): void {
    for (const run of this.#deps.activeRuns()) {
      if (jobs.includes(run.job) && this.#deps.cancel(run.id, 'breaker_open')) {
        this.#deps.logger.warn({ job: run.job, run: run.id }, 'breaker open: stopping the running run');
      }
    }
  }
}
