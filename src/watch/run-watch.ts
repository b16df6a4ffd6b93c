/**
 * Watches runs as the dispatcher reports them and turns them into check pings and incidents:
 * - a scheduled job's check gets a start ping when a run starts, and a success or failure when its chain ends
 *   (rid = run id, so durations are right when runs overlap);
 * - a chain that ends in failure (its retries spent) is `run_failed`, with the stderr tail; a success resolves it. A
 *   queue's task run that exited 75 after a Retry-After is not one: it asked to be tried later, and its queue will;
 * - a scheduled run that starts more than `alerts.late_start` after its fire is `late_start` (the daemon was busy, or
 *   the run waited for a slot), which is a different thing from a run that runs long: past its `max_runtime` a run
 *   is `long_run` — a warning; `timeout` is the kill.
 */
import type { IncidentDesk } from '../alerts/incidents.ts';
import type { JobConfig, ResolvedConfig } from '../config/types.ts';
import type { RunTails } from '../runner/output/run-tails.ts';
import { asksToRetryLater } from '../scheduler/retry-policy.ts';
import type { Run, Store } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { humanDuration, iso } from '../util/time.ts';
import type { CheckWatcher } from './check-watcher.ts';

export interface RunEvents {
  on(event: 'run:started', listener: (run: Run) => void): unknown;
  on(event: 'run:ended', listener: (run: Run, retry: Run | null) => void): unknown;
  off(event: 'run:started', listener: (run: Run) => void): unknown;
  off(event: 'run:ended', listener: (run: Run, retry: Run | null) => void): unknown;
  on(event: 'run:skipped', listener: (run: Run) => void): unknown;
  off(event: 'run:skipped', listener: (run: Run) => void): unknown;
}

export interface RunWatchDeps {
  store: Store;
  events: RunEvents;
  checks: CheckWatcher;
  incidents: IncidentDesk;
  tails: RunTails;
  logger: Logger;
  config: () => ResolvedConfig;
  now?: () => number;
}

/** Reasons a run ends that are not the job's failure: nobody is alerted for them. */
const NOT_A_FAILURE = new Set(['shutdown', 'replaced', 'daemon_restart', 'node_lost']);

export class RunWatch {
  readonly #deps: RunWatchDeps;
  readonly #now: () => number;
  /** Running runs with a max_runtime: when each becomes long. */
  readonly #longAt = new Map<string, { run: Run; at: number; maxMs: number }>();
  readonly #longTimer = new DueTimer(() => void this.#checkLong());

  constructor(deps: RunWatchDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  start(): void {
    this.#deps.events.on('run:started', this.#onStarted);
    this.#deps.events.on('run:ended', this.#onEnded);
  }

  stop(): void {
    this.#deps.events.off('run:started', this.#onStarted);
    this.#deps.events.off('run:ended', this.#onEnded);
    this.#longTimer.cancel();
  }

  readonly #onStarted = (run: Run): void => {
    void this.#started(run).catch((error: unknown) => this.#deps.logger.error({ err: error, run: run.id }, 'watching a run start failed'));
  };

  readonly #onEnded = (run: Run, retry: Run | null): void => {
    void this.#ended(run, retry).catch((error: unknown) => this.#deps.logger.error({ err: error, run: run.id }, 'watching a run end failed'));
  };

  async #started(run: Run): Promise<void> {
    const job = this.#job(run.job);
    if (!job) return;
    if (job.kind === 'scheduled' && job.schedule !== null) await this.#deps.checks.record(job.name, { kind: 'start', exitCode: null, rid: run.id, body: null });
    if (job.maxRuntimeMs !== null && run.started_at !== null) {
      this.#longAt.set(run.id, { run, at: Date.parse(run.started_at) + job.maxRuntimeMs, maxMs: job.maxRuntimeMs });
      this.#armLong();
    }
    if (run.trigger === 'schedule' && run.started_at !== null) await this.#lateStart(job, run);
  }

  async #lateStart(job: JobConfig, run: Run): Promise<void> {
    const lateMs = Date.parse(run.started_at ?? run.scheduled_at) - Date.parse(run.scheduled_at);
    const thresholdMs = this.#deps.config().alerts.lateStartMs;
    if (lateMs <= thresholdMs) {
      await this.#deps.incidents.resolve('late_start', job.name);
      return;
    }
    await this.#deps.incidents.open({
      kind: 'late_start',
      subject: job.name,
      summary: `job ${job.name} started ${humanDuration(lateMs)} late (due ${run.scheduled_at}, started ${run.started_at})`,
      detail: {
        since: run.scheduled_at,
        run_id: run.id,
        fix: 'the daemon was overloaded or the run waited for a free slot (limits.max_concurrent_runs, memory admission, overlap: queue); look at the host with `nightshift doctor` and at what else was running',
      },
    });
  }

  async #ended(run: Run, retry: Run | null): Promise<void> {
    const stderr = this.#deps.tails.tail(run.id);
    if (this.#longAt.delete(run.id)) {
      if (![...this.#longAt.values()].some((entry) => entry.run.job === run.job)) await this.#deps.incidents.resolve('long_run', run.job);
      this.#armLong();
    }
    const job = this.#job(run.job);
    if (!job) return;
    const hasCheck = job.kind === 'scheduled' && job.schedule !== null;
    if (run.status === 'succeeded') {
      if (hasCheck) await this.#deps.checks.record(job.name, { kind: 'success', exitCode: 0, rid: run.id, body: tailText(stderr) });
      await this.#deps.incidents.resolve('run_failed', job.name);
      await this.#deps.incidents.resolve('memory', job.name);
      return;
    }
    const failed = run.status === 'failed' || run.status === 'timed_out' || run.status === 'killed';
    if (failed && run.reason === 'memory') await this.#deps.incidents.open(memoryIncident(job, run));
    // Services are judged by their restart policy and crash-loop state, not run by run.
    if (!failed || retry !== null || job.kind === 'service' || NOT_A_FAILURE.has(run.reason ?? '')) return;
    // A rate limit, not a failure: its queue pauses until the Retry-After and gives the task's attempt back
    // (src/tasks/run-tasks.ts). A job's own chain needs no such case: while it has retries one is queued (returned
    // above); once they are spent nothing retries it, and that is worth telling.
    if (run.trigger === 'task' && asksToRetryLater(run, this.#now())) return;
    if (hasCheck) {
      await this.#deps.checks.record(job.name, {
        kind: run.exit_code !== null ? 'exit' : 'fail',
        exitCode: run.exit_code !== null ? Math.min(255, Math.max(0, run.exit_code)) : null,
        rid: run.id,
        body: tailText(stderr),
      });
    }
    // A start failure or a spent budget has its own incident (containment), which says more; one message, not two.
    if (run.reason === 'start_failed' || (await this.#deps.store.getJobState(job.name)).hold?.state === 'halted') return;
    await this.#deps.incidents.open(failedIncident(job, run, stderr));
  }

  #armLong(): void {
    let next: number | null = null;
    for (const entry of this.#longAt.values()) next = next === null ? entry.at : Math.min(next, entry.at);
    this.#longTimer.arm(next);
  }

  async #checkLong(): Promise<void> {
    const now = this.#now();
    for (const [runId, entry] of this.#longAt) {
      if (entry.at > now) continue;
      entry.at = Infinity; // told once per run
      await this.#deps.incidents.open({
        kind: 'long_run',
        subject: entry.run.job,
        summary: `job ${entry.run.job} has been running for over ${humanDuration(entry.maxMs)} (its max_runtime), since ${entry.run.started_at}`,
        detail: {
          since: iso(Date.parse(entry.run.started_at ?? iso(now)) + entry.maxMs),
          run_id: runId,
          fix: `it is still running and will not be killed for this (timeout does that); watch it with \`nightshift logs ${entry.run.job} -f\`, or stop it with the API's cancel`,
        },
      });
    }
    this.#armLong();
  }

  #job(name: string): JobConfig | undefined {
    return this.#deps.config().jobs[name];
  }
}

function tailText(lines: string[]): string | null {
  return lines.length ? lines.join('\n') : null;
}

function failedIncident(job: JobConfig, run: Run, stderr: string[]) {
  const how =
    run.status === 'timed_out'
      ? `timed out after ${humanDuration(job.timeoutMs ?? 0)}`
      : run.status === 'killed'
        ? `was killed${run.reason ? ` (${run.reason})` : ''}`
        : run.reason === 'start_failed'
          ? `could not start${run.error ? `: ${run.error}` : ''}`
          : `failed with exit code ${run.exit_code ?? '?'}${run.signal ? ` (${run.signal})` : ''}`;
  const attempts = run.attempt > 1 ? ` after ${run.attempt} attempts` : '';
  return {
    kind: 'run_failed' as const,
    subject: job.name,
    summary: `job ${job.name} ${how}${attempts}`,
    detail: {
      since: run.ended_at ?? run.scheduled_at,
      run_id: run.id,
      exit_code: run.exit_code,
      stderr_tail: stderr,
      fix: `read the output with \`nightshift logs ${job.name} --run ${run.id}\`, fix the cause, then \`nightshift run ${job.name}\``,
    },
  };
}

function memoryIncident(job: JobConfig, run: Run) {
  return {
    kind: 'memory' as const,
    subject: job.name,
    summary: `job ${job.name} was killed for memory: ${run.error ?? `over its limit of ${job.memoryBytes ?? '?'} bytes`}`,
    detail: {
      since: run.ended_at ?? run.scheduled_at,
      run_id: run.id,
      fix: `the whole tree is limited by memory: in the config; raise it if the job needs more, or find the leak with \`nightshift logs ${job.name} --run ${run.id}\``,
    },
  };
}
