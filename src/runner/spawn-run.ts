/**
 * Starts one command as one run, supervises it until it ends, and says why it ended (types.ts is the contract).
 *
 * The shape follows execa and overmind (STYLE.md 3 and 4), for the failures in seeds 002 and 003:
 * - one AbortController per run. Every timer is `setTimeout(ms, undefined, { signal })`; aborting the controller when
 *   the run is over cancels all of them, so nothing keeps running behind a settled promise.
 * - the deadline runs on the monotonic clock (libuv timers, `performance.now()`), so wall-clock jumps neither fire it
 *   early nor hold it back — the 7-day hang of seed 003 came from a timeout that could not fire.
 * - the child leads its own process group (`detached`), and carries `NIGHTSHIFT_RUN_ID`; the kill goes to both
 *   (kill-tree.ts), and after the main process exits whatever still carries the marker is an orphan and is killed.
 * - where the host has a writable cgroup v2 (`opts.cgroups`, cgroup.ts), the child is also moved into a cgroup of
 *   the run's own, which the kill and the orphan sweep include, and which is removed when the run is over.
 * - a memory limit and a CPU quota (run-limits.ts) are written into the run's cgroups before the child moves in; a
 *   memory limit without a cgroup is enforced by sampling. Either way, hitting it ends the run like a cancel with
 *   reason `memory` — also when the kernel's OOM kill of the main process looks like an exit.
 * - stdout/stderr are read continuously and handed to the sink, which never blocks: a child can never stall on a
 *   full pipe because its output is slow to reach the disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { adoptDescendants } from './cgroup.ts';
import { killTree } from './kill-tree.ts';
import { ProcReader } from './proc.ts';
import { RunLimits } from './run-limits.ts';
import { describeStartError } from './start-error.ts';
import { MEMORY_REASON, RUN_MARKER_VAR, type RunResult, type RunSpec, type StartOptions } from './types.ts';

/**
 * After the main process exited by itself, its leftovers get SIGTERM and at most this long (or kill_grace, if
 * shorter) before SIGKILL. They were not asked to run: the job already reported its result, and a long grace here
 * would delay the run's end (and the next run) for processes nobody is waiting for. 2 s lets a well-behaved helper
 * flush and exit; a Chrome renderer does not need more.
 */
export const ORPHAN_GRACE_CAP_MS = 2000;
/**
 * After the main process is gone and its marked leftovers are killed, the pipes should close at once. If they do
 * not, something unmarked outside the group holds them (it cleared its environment and called setsid); we stop
 * reading after this long rather than let it keep the run open forever.
 */
export const PIPE_DRAIN_MS = 1000;
/**
 * After the tree was killed, how long to wait for Node to report the main process's exit before reporting without
 * it. The process is dead by then (or stuck in D state); what we wait for is libuv's SIGCHLD handling, which on a
 * loaded 2-CPU box took over a second in CI — and then the run was recorded without its signal. Only a process stuck
 * in uninterruptible sleep ever waits this out.
 */
const EXIT_AFTER_KILL_MS = 5000;
/** Node timers overflow past 2^31-1 ms (24.8 days); long deadlines are waited for in chunks of at most this. */
const MAX_TIMER_MS = 3_600_000;

type Ending = { by: 'exited' } | { by: 'timed_out' } | { by: 'cancelled'; reason: string };
interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export async function runProcess(spec: RunSpec, opts: StartOptions = {}): Promise<RunResult> {
  const t0 = performance.now();
  const result = (fields: Partial<RunResult> & Pick<RunResult, 'endedBy'>): RunResult => ({
    exitCode: null,
    signal: null,
    pid: null,
    cancelReason: null,
    startError: null,
    orphansKilled: 0,
    survivors: 0,
    memory: null,
    cpu: null,
    ...fields,
    durationMs: Math.round(performance.now() - t0),
  });

  // Cancelled before it started: start nothing.
  if (opts.signal?.aborted) {
    spec.output.end();
    return result({ endedBy: 'cancelled', cancelReason: reasonText(opts.signal.reason) });
  }

  // Made before the spawn, so that moving the child in is a single write in the tick spawn() returns.
  const cgroup = opts.cgroups?.forRun(spec.runId) ?? null;
  const limits = RunLimits.prepare(spec, cgroup, opts.limits); // limits in place before the child moves in
  const [file, args]: [string, string[]] =
    spec.command.kind === 'shell'
      ? ['/bin/sh', ['-c', spec.command.script]]
      : [spec.command.argv[0], spec.command.argv.slice(1)];
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: spec.cwd,
      // Exactly what the caller composed, plus the marker, which is ours to set: nothing may override it.
      env: { ...spec.env, [RUN_MARKER_VAR]: spec.runId },
      detached: true, // setsid(): the child leads its own process group, so -pgid reaches its whole family
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(spec.user !== null ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    });
  } catch (err) {
    // Synchronous throws are argument problems (a NUL byte in cwd or argv, an invalid uid).
    spec.output.end();
    await Promise.all([cgroup?.remove(), limits.remove()]);
    return result({ endedBy: 'start_failed', startError: await describeStartError(err, spec, file) });
  }
  // Into the run's cgroup at once: synchronously, before the event loop turns. This is not atomic with the spawn.
  // spawn() returns once the child has exec'd the command, and the command runs while we write its pid — and that
  // write itself takes about a millisecond (the kernel waits for an RCU grace period). A grandchild forked in that
  // window is born outside the cgroup: on Linux 6.18, a script that forks on its first lines lost that race in 8 of
  // 30 runs from plain Node and 18 of 20 under vitest. adoptDescendants (below) moves the descendants still outside,
  // found by parent pid; what still escapes is one forked in the window whose parent exited before that scan (a
  // double fork in the first milliseconds). The marker and the process group still find that one — unless it also
  // leaves the group and clears its environment. Closing the window for good would take CLONE_INTO_CGROUP or a
  // wrapper that joins the cgroup before exec; a shell shim would turn a missing command into sh's exit 127 and lose
  // spawn's ENOENT (start_failed), so there is none. A failed move is logged by adopt(); the run goes on without.
  const adopted = cgroup !== null && child.pid !== undefined && cgroup.adopt(child.pid);
  if (child.pid !== undefined) limits.adopt(child.pid);

  // A listener must stay for the whole life of the child: an unhandled 'error' (e.g. a failed kill) would crash the
  // daemon. Before a pid exists, 'error' is the spawn failure.
  let spawnError: ((err: Error) => void) | null = null;
  child.on('error', (err) => spawnError?.(err));
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => (spawnError = resolve));
    child.stdout?.destroy();
    child.stderr?.destroy();
    spec.output.end();
    await Promise.all([cgroup?.remove(), limits.remove()]);
    return result({ endedBy: 'start_failed', startError: await describeStartError(err, spec, file) });
  }

  const proc = new ProcReader();
  // Read now, synchronously: until the event loop turns, the child cannot have been reaped.
  const rootStartTime = proc.pidStartTimeSync(pid) ?? undefined;
  const caughtUp = Promise.all([
    adopted ? adoptDescendants(cgroup, pid, proc, rootStartTime) : 0,
    limits.catchUp(pid, proc, rootStartTime),
  ]);
  const run = new AbortController();
  let settle: (ending: Ending) => void = () => {};
  const ending = new Promise<Ending>((resolve) => (settle = resolve)); // the first settle wins

  const exit: { info: ExitInfo | null } = { info: null };
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit.info = { code, signal };
      resolve();
    }),
  );
  void exited.then(() => settle({ by: 'exited' }));

  try {
    opts.onSpawn?.(pid);
  } catch (err) {
    // The caller could not record the pid; a run it cannot track must not keep running.
    settle({ by: 'cancelled', reason: `onSpawn failed: ${err instanceof Error ? err.message : String(err)}` });
  }

  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  const pipesClosed = Promise.all([readInto(stdout, 'out', spec), readInto(stderr, 'err', spec)]);

  if (spec.timeoutMs !== null) {
    const deadline = performance.now() + spec.timeoutMs;
    void waitUntil(deadline, run.signal).then((due) => due && settle({ by: 'timed_out' }));
  }
  const onAbort = (): void => settle({ by: 'cancelled', reason: reasonText(opts.signal?.reason) });
  const overLimit = (): void => settle({ by: 'cancelled', reason: MEMORY_REASON });
  limits.watch({ pgid: pid, notBeforeStartTime: rootStartTime, proc, signal: run.signal, onExceeded: overLimit });
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let end = await ending;
  opts.signal?.removeEventListener('abort', onAbort);
  await caughtUp; // a few ms at most; the kill below must see what it moved
  const members = cgroup ?? limits.membership; // a v1 memory cgroup finds escapees where there is no v2 one
  const sweep = { runId: spec.runId, pgid: pid, notBeforeStartTime: rootStartTime, signal: run.signal, proc };
  let survivors = 0;
  let orphansKilled = 0;

  if (end.by !== 'exited') {
    // Until Node reports the exit, the main process is not reaped, so its group is surely the run's: killTree signals
    // it before scanning /proc, which on a busy host takes long enough to push the SIGTERM well past the deadline.
    const groupHeld = exit.info === null;
    const killed = await killTree({ ...sweep, cgroup: members, graceMs: spec.killGraceMs, groupHeld });
    survivors = killed.survivors;
    await within(exited, EXIT_AFTER_KILL_MS, run.signal); // SIGKILLed: the exit is a moment away, unless stuck in D
  }
  if (exit.info !== null) {
    // The main process is gone: anything still marked (or still in its group) is an orphan.
    const graceMs = Math.min(spec.killGraceMs, ORPHAN_GRACE_CAP_MS);
    const orphans = await killTree({ ...sweep, cgroup: members, graceMs });
    orphansKilled = end.by === 'exited' ? orphans.killed : 0;
    survivors = orphans.survivors;
  }
  const usage = await limits.finish(end.by === 'cancelled' && end.reason === MEMORY_REASON);
  // The kernel's OOM kill can beat the guard to it: the main process died of SIGKILL and "exited". It was the limit.
  if (end.by === 'exited' && usage.memory?.exceeded) end = { by: 'cancelled', reason: MEMORY_REASON };
  // Empty now unless something survived (then it stays for a later sweep, and `survivors` says so).
  await Promise.all([cgroup?.remove(), limits.remove()]);

  // The orphan sweep closed the pipes its victims held; give the rest a bounded moment to drain.
  if (!(await within(pipesClosed, PIPE_DRAIN_MS, run.signal))) {
    stdout.destroy();
    stderr.destroy();
  }
  spec.output.end();
  run.abort(); // cancels the deadline timer and anything else still waiting on this run

  return result({
    endedBy: end.by,
    exitCode: exit.info?.code ?? null,
    signal: exit.info?.signal ?? null,
    pid,
    cancelReason: end.by === 'cancelled' ? end.reason : null,
    orphansKilled,
    survivors,
    ...usage,
  });
}

/** Flowing mode, never paused: the sink must keep up or drop, never push back on the child. Resolves on close. */
function readInto(stream: Readable, which: 'out' | 'err', spec: RunSpec): Promise<void> {
  stream.on('data', (chunk: Buffer) => spec.output.write(which, chunk));
  stream.on('error', () => {}); // a read error ends the stream; 'close' follows
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function reasonText(reason: unknown): string {
  return typeof reason === 'string' ? reason : 'cancelled';
}

/** Waits on the monotonic clock until `deadline` (performance.now() units); false when aborted first. */
async function waitUntil(deadline: number, signal: AbortSignal): Promise<boolean> {
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return true;
    try {
      await sleep(Math.min(remaining, MAX_TIMER_MS), undefined, { signal });
    } catch {
      return false;
    }
  }
}

/** Whether `promise` settles within `ms`. The timer is cancelled either way, so nothing is left waiting. */
async function within(promise: Promise<unknown>, ms: number, parent: AbortSignal): Promise<boolean> {
  const local = new AbortController();
  const signal = AbortSignal.any([parent, local.signal]);
  const timedOut = sleep(ms, false, { signal }).catch(() => false);
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    local.abort();
  }
}
