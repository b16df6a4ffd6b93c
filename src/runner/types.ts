/**
 * The runner's contract: start one command as one run, supervise it until it ends, and say why it ended.
 *
 * The runner knows nothing of the store, schedules or retries; the scheduler composes it.
 */
import type { CommandSpec } from '../config/types.ts';
import type { RunCgroups } from './cgroup.ts';
import type { RunLimitSupport } from './cgroup-limits.ts';

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
  /** Memory limit of the whole tree (`memory:`); over it the run ends `cancelled` with reason `memory`. Null: none. */
  memoryBytes: number | null;
  /** CPU quota in percent of one CPU (`cpu:`; 200 = two CPUs), where a cgroup can enforce it. Null: none. */
  cpuPercent: number | null;
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
  /** The run's memory limit and what it used; null when it had no limit. */
  memory: RunMemory | null;
  /** The run's CPU quota and whether it was enforced; null when it had none. */
  cpu: RunCpu | null;
}

/** How a run's memory limit was enforced, and what the run used. */
export interface RunMemory {
  limitBytes: number;
  /**
   * The most it used: the cgroup's own peak (memory.peak, or v1's max_usage_in_bytes; page cache included, as the
   * kernel charges it), else the highest sample (of the cgroup's usage, or of the tree's total RSS); 0 when the
   * run ended before its first sample.
   */
  peakBytes: number;
  /** `cgroup`: the kernel enforced it (the OOM killer, inside the run's cgroup); `rss`: nightshift sampled the tree. */
  via: 'cgroup' | 'rss';
  /** Which cgroup hierarchy, for `via: 'cgroup'`; null for `rss`. */
  cgroupVersion: 1 | 2 | null;
  /** The limit ended the run: the kernel OOM-killed in its cgroup, or its sampled RSS went over. */
  exceeded: boolean;
  /** Processes of the run the kernel's OOM killer killed (0 for `rss`). */
  oomKills: number;
}

/** A run's CPU quota: enforced through a cgroup, or not at all (no cpu controller this daemon may use). */
export interface RunCpu {
  percent: number;
  enforced: boolean;
  /** Which cgroup hierarchy enforced it; null when it was not enforced. */
  cgroupVersion: 1 | 2 | null;
}

/** The cancel reason of a run ended for its memory (the store's `reason: memory`). */
export const MEMORY_REASON = 'memory';

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
  /**
   * How this host enforces `memory:` and `cpu:` (cgroup-limits.ts `detectRunLimits`, once per process, after the
   * cgroups). Absent or null: a memory limit is enforced by sampling RSS, a CPU quota not at all.
   */
  limits?: RunLimitSupport | null;
}

/** The environment variable that marks every process started for a run, inherited by all its descendants. */
export const RUN_MARKER_VAR = 'NIGHTSHIFT_RUN_ID';
