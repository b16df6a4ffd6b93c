import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { JobConfig, ResolvedConfig } from '../config/types.ts';
import type { LockRequest, NewRun, Run, RunEnd, Store } from '../store/types.ts';
import { openStore } from '../store/open.ts';
import type { RunResult } from '../runner/types.ts';
import { LogManager } from '../runner/output/log-manager.ts';
import { detectRunCgroups } from '../runner/cgroup.ts';
import { detectRunLimits } from '../runner/cgroup-limits.ts';
import { JOB_LOCK_PREFIX } from '../scheduler/run-records.ts';
import { isHolderAlive } from '../scheduler/holder-liveness.ts';
import { endDeadHoldersRun } from '../scheduler/reclaim.ts';
import { HostProcesses } from '../scheduler/host-processes.ts';
import { ProcessLauncher } from '../scheduler/run-launcher.ts';
import { describeMemoryKill, endFromResult } from '../scheduler/run-end.ts';
import { teeSink } from './tee-sink.ts';
import { judgeUpstream } from '../coordination/upstream.ts';
import { newRunId } from '../util/ids.ts';
import { humanDuration, iso } from '../util/time.ts';

export interface ExecOptions {
  /** The job as configured, or built from defaults for a name the config does not have. */
  job: JobConfig;
  /** The config file's, or the defaults' when there is no file (for the state, the logs and the daemon URL). */
  config: ResolvedConfig;
  /** Take the job's lock (the same one the daemon uses); without it, runs are only recorded. */
  lock: boolean;
  /** Forwarded signals (SIGTERM from cron or systemd) stop the run; tests can pass their own. */
  signal?: AbortSignal;
  /** Where the command's output is echoed besides the job's log (cron mails what a job prints). */
  echo?: { out: NodeJS.WritableStream; err: NodeJS.WritableStream };
  env?: NodeJS.ProcessEnv;
}

export interface ExecOutcome {
  run: Run;
  /** What `nightshift exec` exits with: the command's own code, 128+N for signal N, 124 on timeout. */
  exitCode: number;
  /** One line for stderr when the run did not happen or was cut short. */
  notice: string | null;
}

/** Exit status of a run ended by its deadline, as coreutils' timeout(1) uses. */
export const EXIT_TIMED_OUT = 124;
const EXIT_CANNOT_START = 127;

/**
 * `nightshift exec`: the crontab wrapper. Without a daemon it takes the job's crash-safe lock, applies the deadline
 * and the whole-tree kill, records the run (`trigger: exec`) and captures its output into the job's logs.
 */
export async function execRun(options: ExecOptions): Promise<ExecOutcome> {
  await mkdir(options.config.stateDir, { recursive: true, mode: 0o700 });
  const store = await openStore(options.config.store);
  const host = new HostProcesses();
  try {
    await store.migrate();
    const job = options.job;
    const id = newRunId();
    const node = options.config.node;
    const run: NewRun = { id, job: job.name, attempt: 1, chain_id: id, trigger: 'exec', scheduled_at: iso(Date.now()), node };
    // `after:` is honoured by every start (DESIGN.md), a crontab line's included: skip, or run degraded and say why.
    const stale = await judgeUpstream(store, job.after, options.config.jobs, Date.now());
    if (stale?.onStale === 'skip') {
      const skipped = await store.insertRun(run, { status: 'skipped', reason: 'upstream_stale', exit_code: null, signal: null, ended_at: iso(Date.now()) });
      return { run: skipped, exitCode: 0, notice: `${job.name} was skipped and recorded: ${stale.why}` };
    }
    if (stale) run.degraded = stale.why;
    const lock: LockRequest = {
      // Without --lock the run takes a lock of its own, so it is recorded the same way but never blocks anything.
      name: options.lock ? JOB_LOCK_PREFIX + job.name : `exec:${id}`,
      holder: { token: id, run_id: id, pid: process.pid, pid_start: await host.startTimeOf(process.pid), node },
    };
    let started = await store.startRun(run, lock, iso(Date.now()));
    if (!started.started && !(await isHolderAlive(started.heldBy, host, true, Date.now()))) {
      const dead = started.heldBy;
      started = await store.startRun(run, { ...lock, replaceToken: dead.token }, iso(Date.now()));
      if (started.started) await endDeadHoldersRun(store, dead, iso(Date.now()));
    }
    if (!started.started) {
      const holder = started.heldBy;
      const skipped = await store.insertRun(run, { status: 'skipped', reason: 'overlap', exit_code: null, signal: null, ended_at: iso(Date.now()) });
      return {
        run: skipped,
        exitCode: 0,
        notice: `${job.name} is already running (run ${holder.run_id ?? '?'}, pid ${holder.pid}); this start was skipped and recorded`,
      };
    }
    return await supervise(options, store, started.run);
  } finally {
    await store.close();
  }
}

async function supervise(options: ExecOptions, store: Store, run: Run): Promise<ExecOutcome> {
  const { job, config } = options;
  const logs = new LogManager({
    logsDir: `${config.stateDir}/logs`,
    maxTotalBytes: config.logs.maxTotalBytes,
    minFreeDisk: config.logs.minFreeDisk,
  });
  const cgroups = await detectRunCgroups();
  // Only where the job has a limit: detection may create `nightshift-runs` in a cgroup v1 hierarchy.
  const limited = job.memoryBytes !== null || job.cpuPercent !== null;
  const launcher = new ProcessLauncher({
    sinkFor: (j, runId) => {
      const sink = logs.sinkFor(j.name, runId, j.logs);
      return options.echo ? teeSink(sink, options.echo) : sink;
    },
    daemonUrl: () => `http://${config.http.host}:${config.http.port}`,
    tokens: null,
    cgroups,
    limits: limited ? await detectRunLimits({ cgroups }) : null,
    ...(options.env ? { inheritedEnv: options.env } : {}),
  });
  const stop = options.signal ?? new AbortController().signal;
  let end: RunEnd;
  let exitCode: number;
  let notice: string | null;
  try {
    const result = await launcher.launch(job, run, stop, (pid) => void store.setRunPid(run.id, pid).catch(() => undefined));
    end = endFromResult(result, iso(Date.now()));
    exitCode = exitCodeOf(result);
    notice = noticeOf(job, result);
  } catch (error) {
    // The environment or the user could not be set up (a missing env_file, an unknown user).
    notice = error instanceof Error ? error.message : String(error);
    end = { status: 'failed', reason: 'start_failed', exit_code: null, signal: null, ended_at: iso(Date.now()), error: notice };
    exitCode = EXIT_CANNOT_START;
  } finally {
    await logs.close();
  }
  return { run: await store.finishRun(run.id, end), exitCode, notice };
}

function exitCodeOf(result: RunResult): number {
  if (result.endedBy === 'timed_out') return EXIT_TIMED_OUT;
  if (result.endedBy === 'start_failed') return EXIT_CANNOT_START;
  if (result.exitCode !== null) return result.exitCode;
  const signalNumber = result.signal ? osConstants.signals[result.signal] : undefined;
  return 128 + (signalNumber ?? 15);
}

function noticeOf(job: JobConfig, result: RunResult): string | null {
  if (result.endedBy === 'timed_out') return `${job.name} timed out after ${humanDuration(job.timeoutMs ?? 0)}; its process tree was killed`;
  if (result.endedBy === 'start_failed') return result.startError;
  if (result.memory?.exceeded) return `${job.name}: ${describeMemoryKill(result.memory)}; its process tree was killed`;
  if (result.endedBy === 'cancelled') return `${job.name} was stopped (${result.cancelReason ?? 'signal'}); its process tree was killed`;
  return null;
}
