/**
 * The runner's contract: start one command as one run, supervise it until it ends, and say why it ended.
 *
 * The runner knows nothing of the store, schedules or retries; the scheduler composes it.
 */
import type { CommandSpec } from '../config/types.ts';
import type { RunCgroups } from './cgroup.ts';

/** Where a run's stdout and stderr go. Writing must never block or throw; a sink drops what it cannot keep. */
export interface OutputSink {
  write(stream: 'out' | 'err', chunk: Buffer): void;
  /**
   * Flushes a trailing partial line; called exactly once per runProcess() call, after both pipes have closed — also
   * when the process never started (start_failed, or cancelled before the start), so a sink can release what it holds.
   */
  end(): void;
  /** Writes a line of nightshift's own into the run's log (e.g. a missed heartbeat); ignored after end(). */
  note?(text: string): void;
}

export interface RunSpec {
  runId: string;
  job: string;
  command: CommandSpec;
  /** Absolute working directory. */
  cwd: string;
  /** The complete environment of the child (the caller composes inherited, env_file, env and NIGHTSHIFT_* vars). */
  env: Record<string, string>;
  /** Run as this uid/gid (the daemon must be root); null = as the daemon. */
  user: { uid: number; gid: number } | null;
  /** Deadline on the monotonic clock, from spawn; null = none. */
  timeoutMs: number | null;
  /** After SIGTERM, how long the tree has before SIGKILL. */
  killGraceMs: number;
  output: OutputSink;
}

/** Why a run ended. `cancelled` carries the reason given to `AbortController.abort(reason)`. */
export type EndedBy = 'exited' | 'timed_out' | 'cancelled' | 'start_failed';

export interface RunResult {
  endedBy: EndedBy;
  /** The main process's exit code, or null when it died by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  pid: number | null;
  /** Set when `endedBy` is `cancelled`: the abort reason if it was a string, else 'cancelled'. */
  cancelReason: string | null;
  /** Set when `endedBy` is `start_failed`, e.g. "spawn python9 ENOENT". */
  startError: string | null;
  /** Processes still marked (or in the run's cgroup) after the main process ended, which the runner killed. */
  orphansKilled: number;
  /** Marked processes (or cgroup members) alive after SIGKILL and the verification; 0 unless the kernel refused. */
  survivors: number;
  /** Monotonic wall time from spawn to the end of cleanup. */
  durationMs: number;
}

export interface StartOptions {
  /** Aborting kills the whole tree (SIGTERM, then SIGKILL after killGraceMs) and ends the run as `cancelled`. */
  signal?: AbortSignal;
  /** Called once the child has a pid, before any output is read, so the caller can record it. */
  onSpawn?: (pid: number) => void;
  /**
   * The host's run cgroups (cgroup.ts `detectRunCgroups`), null where there is no writable cgroup v2. With them the
   * run gets a cgroup of its own, and the kill also reaches what left the process group and cleared its environment.
   */
  cgroups?: RunCgroups | null;
}

/** The environment variable that marks every process started for a run, inherited by all its descendants. */
export const RUN_MARKER_VAR = 'NIGHTSHIFT_RUN_ID';
