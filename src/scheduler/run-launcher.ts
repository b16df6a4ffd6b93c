import type { JobConfig } from '../config/types.ts';
import type { Run } from '../store/types.ts';
import type { OutputSink, RunResult } from '../runner/types.ts';
import type { RunCgroups } from '../runner/cgroup.ts';
import type { RunLimitSupport } from '../runner/cgroup-limits.ts';
import { runProcess } from '../runner/spawn-run.ts';
import { resolveUser } from '../runner/users.ts';
import type { RunTokens } from '../security/run-token.ts';
import { buildRunEnv } from './run-env.ts';

/** Starts the process of a run and resolves with how it ended. The dispatcher depends on this seam, not on spawn. */
export interface RunLauncher {
  launch(job: JobConfig, run: Run, signal: AbortSignal, onSpawn: (pid: number) => void): Promise<RunResult>;
}

export interface ProcessLauncherOptions {
  sinkFor: (job: JobConfig, runId: string) => OutputSink;
  daemonUrl: () => string;
  /** Signs NIGHTSHIFT_RUN_TOKEN; null where no daemon can honour one (`nightshift exec`). */
  tokens: RunTokens | null;
  inheritedEnv?: NodeJS.ProcessEnv;
  /**
   * More variables for a run, set over the rest (a queue-driven run's task: NIGHTSHIFT_TASK_*). Awaited before the
   * spawn, so what it records (the task bound to the run) is committed before the process starts.
   */
  extraEnv?: (job: JobConfig, run: Run) => Promise<Record<string, string>>;
  etcRoot?: string;
  /** From `detectRunCgroups()`, once per process: each run gets a cgroup for the kill. Absent or null: none. */
  cgroups?: RunCgroups | null;
  /**
   * From `detectRunLimits({ cgroups })`, once per process: how `memory:` and `cpu:` are enforced. Absent or null:
   * memory limits by RSS sampling, CPU quotas not at all.
   */
  limits?: RunLimitSupport | null;
}

/** The real launcher: composes environment and user, then hands the command to the runner. */
export class ProcessLauncher implements RunLauncher {
  private readonly options: ProcessLauncherOptions;

  constructor(options: ProcessLauncherOptions) {
    this.options = options;
  }

  async launch(job: JobConfig, run: Run, signal: AbortSignal, onSpawn: (pid: number) => void): Promise<RunResult> {
    const user = job.user ? resolveUser(job.user, { etcRoot: this.options.etcRoot ?? '/etc', job: job.name }) : null;
    const env = await buildRunEnv(job, run, {
      daemonUrl: this.options.daemonUrl(),
      runToken: this.options.tokens?.issue(run.id) ?? '',
      inherited: this.options.inheritedEnv ?? process.env,
      user,
    });
    if (this.options.extraEnv) Object.assign(env, await this.options.extraEnv(job, run));
    return runProcess(
      {
        runId: run.id,
        job: job.name,
        command: job.command,
        cwd: job.cwd,
        env,
        user: user ? { uid: user.uid, gid: user.gid } : null,
        timeoutMs: job.timeoutMs,
        killGraceMs: job.killGraceMs,
        memoryBytes: job.memoryBytes,
        cpuPercent: job.cpuPercent,
        output: this.options.sinkFor(job, run.id),
      },
      { signal, onSpawn, cgroups: this.options.cgroups ?? null, limits: this.options.limits ?? null },
    );
  }
}
