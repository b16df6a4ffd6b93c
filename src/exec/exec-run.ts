import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { JobConfig, ResolvedConfig } from '../config/types.ts';
import type { LockRequest, NewRun, Run, RunEnd, Store } from '../store/types.ts';
import { openStore } from '../store/open.ts';
import { runProcess } from '../runner/spawn-run.ts';
import type { RunResult } from '../runner/types.ts';
import { LogManager } from '../runner/output/log-manager.ts';
import { teeSink } from './tee-sink.ts';
import { resolveUser } from '../runner/users.ts';
import { JOB_LOCK_PREFIX } from '../scheduler/dispatcher.ts';
import { isHolderAlive } from '../scheduler/holder-liveness.ts';
import { HostProcesses } from '../scheduler/host-processes.ts';
import { buildRunEnv } from '../scheduler/run-env.ts';
import { newRunId } from '../util/ids.ts';
import { formatDuration, iso } from '../util/time.ts';

export interface ExecOptions {
  /** The job as configured, or built from defaults for a name the config does not have. */
  job: JobConfig;
  /** The daemon's config when there is one (for the state, logs and URL); null runs on defaults. */
  config: ResolvedConfig | null;
  stateDir: string;
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
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const store = await openStore(options.config?.store ?? { kind: 'sqlite', path: `${options.stateDir}/state.db` });
  const host = new HostProcesses();
  try {
    await store.migrate();
    const job = options.job;
    const id = newRunId();
    const node = options.config?.node ?? `exec-${process.pid}`;
    const run: NewRun = { id, job: job.name, attempt: 1, chain_id: id, trigger: 'exec', scheduled_at: iso(Date.now()), node };
    const lock: LockRequest = {
      // Without --lock the run takes a lock of its own, so it is recorded the same way but never blocks anything.
      name: options.lock ? JOB_LOCK_PREFIX + job.name : `exec:${id}`,
      holder: { token: id, run_id: id, pid: process.pid, pid_start: await host.startTimeOf(process.pid), node },
    };
    let started = await store.startRun(run, lock, iso(Date.now()));
    if (!started.started && !(await isHolderAlive(started.heldBy, host, true, Date.now()))) {
      started = await store.startRun(run, { ...lock, replaceToken: started.heldBy.token }, iso(Date.now()));
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
    logsDir: `${options.stateDir}/logs`,
    maxTotalBytes: config?.logs.maxTotalBytes ?? 1024 ** 3,
    minFreeDisk: config?.logs.minFreeDisk ?? { kind: 'percent', percent: 10 },
  });
  let result: RunResult;
  try {
    const daemonUrl = config ? `http://${config.http.host}:${config.http.port}` : 'http://127.0.0.1:8377';
    const user = job.user ? resolveUser(job.user, { job: job.name }) : null;
    const env = await buildRunEnv(job, run, { daemonUrl, runToken: '', inherited: options.env ?? process.env, user });
    const sink = logs.sinkFor(job.name, run.id, job.logs);
    result = await runProcess(
      {
        runId: run.id,
        job: job.name,
        command: job.command,
        cwd: job.cwd,
        env,
        user: user ? { uid: user.uid, gid: user.gid } : null,
        timeoutMs: job.timeoutMs,
        killGraceMs: job.killGraceMs,
        output: options.echo ? teeSink(sink, options.echo) : sink,
      },
      {
        ...(options.signal ? { signal: options.signal } : {}),
        onSpawn: (pid) => void store.setRunPid(run.id, pid).catch(() => undefined),
      },
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const ended = await store.finishRun(run.id, endOf('failed', 'start_failed', null, null, message));
    await logs.close();
    return { run: ended, exitCode: EXIT_CANNOT_START, notice: message };
  }
  await logs.close();
  const end = toEnd(result);
  const ended = await store.finishRun(run.id, end);
  return { run: ended, exitCode: exitCodeOf(result), notice: noticeOf(job, result) };
}

function toEnd(result: RunResult): RunEnd {
  const base = { exit_code: result.exitCode, signal: result.signal, ended_at: iso(Date.now()), orphans_killed: result.orphansKilled, error: result.startError };
  switch (result.endedBy) {
    case 'exited':
      return { ...base, status: result.exitCode === 0 ? 'succeeded' : 'failed', reason: null };
    case 'timed_out':
      return { ...base, status: 'timed_out', reason: 'timeout' };
    case 'cancelled':
      return { ...base, status: 'killed', reason: null, error: `stopped by ${result.cancelReason ?? 'a signal'}` };
    case 'start_failed':
      return { ...base, status: 'failed', reason: 'start_failed' };
  }
}

function endOf(status: RunEnd['status'], reason: RunEnd['reason'], exitCode: number | null, signal: string | null, error: string | null): RunEnd {
  return { status, reason, exit_code: exitCode, signal, ended_at: iso(Date.now()), error };
}

function exitCodeOf(result: RunResult): number {
  if (result.endedBy === 'timed_out') return EXIT_TIMED_OUT;
  if (result.endedBy === 'start_failed') return EXIT_CANNOT_START;
  if (result.exitCode !== null) return result.exitCode;
  const signalNumber = result.signal ? osConstants.signals[result.signal] : undefined;
  return 128 + (signalNumber ?? 15);
}

function noticeOf(job: JobConfig, result: RunResult): string | null {
  if (result.endedBy === 'timed_out') return `${job.name} timed out after ${formatDuration(job.timeoutMs ?? 0)}; its process tree was killed`;
  if (result.endedBy === 'start_failed') return result.startError;
  if (result.endedBy === 'cancelled') return `${job.name} was stopped (${result.cancelReason ?? 'signal'}); its process tree was killed`;
  return null;
}
