/**
 * Terminates a run's whole process tree: SIGTERM, a grace period, SIGKILL, then a check that nothing is left.
 *
 * A run's processes are found in up to three ways, because each alone misses some (seeds 002 and 003):
 * - the process group (`-pgid`): the main process leads its own group (spawned `detached`), and everything it forks
 *   stays in it unless it calls setsid/setpgid. One kill() reaches them all, including ones forked a moment ago.
 * - the marker `NIGHTSHIFT_RUN_ID=<id>` in /proc/PID/environ: inherited by every descendant, including those that
 *   left the group (daemonised helpers, Chrome renderers), and unaffected by reparenting to init.
 * - the run's cgroup (cgroup.ts), where the host has a writable cgroup v2: what escapes both — a descendant that left
 *   the group AND cleared its environment — is still in it. Its members join every scan below (so they get the
 *   SIGTERM and the grace like the others), the SIGKILL phase also writes `cgroup.kill`, and the verification also
 *   waits for the cgroup to have no live member. Without a cgroup, such a process is not found at all.
 *
 * Every wait is `setTimeout(ms, undefined, { signal })`: aborting the caller's signal ends the grace early (straight
 * to SIGKILL) and cuts the verification short; no timer outlives the call.
 *
 * The signals keep to the clock, not to the scans: a scan of /proc on a busy host is slow (100 runs timing out in the
 * same second on 2 vCPUs: one shared scan of ~500 processes took 0.3–0.5 s, and before scans were shared 68 of them
 * in parallel took 2.5–3.6 s each — docs/benchmarks.md, section 4). So when the caller holds the group's leader
 * (`groupHeld`) the group gets its SIGTERM before the first scan; the grace is counted from that SIGTERM; and when it
 * is over, what the last poll saw alive (and the held group) gets SIGKILL at once, before the scan that looks for more.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import type { RunCgroup } from './cgroup.ts';
import { ProcReader, isLiveState, type ProcStat, type RunProcess } from './proc.ts';

export interface KillTreeOptions {
  runId: string;
  /** The run's process group (the main process's pid); null when there is none to signal. */
  pgid: number | null;
  /**
   * Start time (clock ticks since boot) of the run's main process, when the caller knows it. Processes older than
   * it cannot belong to the run, which keeps scans cheap. It also vouches for the process group: without it, a
   * group whose leader is gone could be a recycled pid's, so its unmarked members are only included while a member
   * carrying the marker proves the group is the run's (e.g. a sweep after a daemon restart).
   */
  notBeforeStartTime?: number;
  /**
   * The caller has not yet seen the group's leader exit, so it is not reaped and `pgid` cannot have been recycled:
   * the group is the run's for certain and is signalled at once, without waiting for a scan to vouch for it.
   */
  groupHeld?: boolean;
  /** The run's cgroup, if it has one: every member belongs to the run, whatever its group, environment or age. */
  cgroup?: RunCgroup | null;
  /** How long the tree has between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Aborting skips the rest of the grace (SIGKILL at once) and shortens the verification. */
  signal?: AbortSignal;
  proc?: ProcReader;
  /** Between checks while waiting; default 75 ms. */
  pollMs?: number;
  /** How long to keep checking after SIGKILL that nothing survives; default 1000 ms. */
  verifyMs?: number;
}

export interface KillTreeResult {
  /** Distinct processes this call signalled that are gone now. */
  killed: number;
  /** Processes of the run still alive at the end (SIGKILL refused with EPERM, or stuck in the kernel). */
  survivors: number;
  survivorPids: number[];
  /** True when something outlived the grace and needed SIGKILL. */
  forced: boolean;
}

const DEFAULT_POLL_MS = 75;
const DEFAULT_VERIFY_MS = 1000;

export async function killTree(opts: KillTreeOptions): Promise<KillTreeResult> {
  const proc = opts.proc ?? new ProcReader();
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const verifyMs = opts.verifyMs ?? DEFAULT_VERIFY_MS;
  const signalled = new Map<number, number>(); // pid → start time, to count kills PID-reuse safely
  const refused = new Map<number, number>(); // EPERM: we may not signal it, so it survives
  const scan = async (): Promise<RunProcess[]> => {
    const { runId, pgid, notBeforeStartTime } = opts;
    const [found, members] = await Promise.all([
      proc.findRunProcesses(runId, { pgid, notBeforeStartTime }),
      cgroupMembers(proc, opts.cgroup),
    ]);
    const groupVouched =
      opts.notBeforeStartTime !== undefined ||
      found.some((p) => p.marked && p.pgid === opts.pgid) ||
      members.some((p) => p.pgid === opts.pgid);
    const ours = groupVouched ? found : found.filter((p) => p.marked);
    const seen = new Set(ours.map((p) => p.pid));
    return [...ours, ...members.filter((p) => !seen.has(p.pid))];
  };

  const send = (targets: ProcStat[], sig: NodeJS.Signals): void => {
    // One kill() for the group reaches every member; members are then skipped so none gets the signal twice
    // (some programs treat a second SIGTERM as "give up on graceful shutdown").
    const pgid = opts.pgid;
    const groupAlive = pgid !== null && targets.some((t) => t.pgid === pgid);
    if (groupAlive) deliver(-pgid, sig);
    for (const t of targets) {
      signalled.set(t.pid, t.startTime);
      if (groupAlive && t.pgid === pgid) continue;
      if (deliver(t.pid, sig) === 'refused') refused.set(t.pid, t.startTime);
    }
  };
  const sendOutsideGroup = (targets: ProcStat[], sig: NodeJS.Signals): void => {
    for (const t of targets) {
      signalled.set(t.pid, t.startTime);
      if (deliver(t.pid, sig) === 'refused') refused.set(t.pid, t.startTime);
    }
  };
  const tally = async (left: ProcStat[], forced: boolean): Promise<KillTreeResult> => {
    const survivorPids = new Set(left.map((t) => t.pid));
    for (const [pid, startTime] of refused) {
      if (await proc.isSameProcessAlive(pid, startTime)) survivorPids.add(pid);
    }
    let killed = 0;
    for (const [pid, startTime] of signalled) {
      if (!survivorPids.has(pid) && !(await proc.isSameProcessAlive(pid, startTime))) killed += 1;
    }
    return { killed, survivors: survivorPids.size, survivorPids: [...survivorPids], forced };
  };

  // Phase 1: SIGTERM, then SIGCONT so that stopped processes (state T) get to handle it, as systemd does. A held group
  // gets them before the scan, which finds the rest (members that left the group, cgroup members).
  const held = opts.groupHeld === true && opts.pgid !== null ? opts.pgid : null;
  if (held !== null) {
    deliver(-held, 'SIGTERM');
    deliver(-held, 'SIGCONT');
  }
  // The grace is counted from the first SIGTERM. `graceOver` settles when it is over or the caller aborts.
  const graceTimer = new AbortController();
  const polling = new AbortController(); // ends the grace's poll in flight when the grace does
  const graceOver = pause(opts.graceMs, anySignal(graceTimer.signal, opts.signal));
  try {
    let known: ProcStat[] = [];
    let graceEnded = false;
    const first = await beforeEnd(scan(), graceOver);
    if (first === undefined) {
      graceEnded = true; // the grace ran out during the first scan (a very busy host): on to SIGKILL
    } else {
      if (first.length === 0) return { killed: 0, survivors: 0, survivorPids: [], forced: false };
      if (held !== null) {
        // The group's members already have their SIGTERM (a second one can mean "give up on graceful shutdown").
        for (const t of first) if (t.pgid === held) signalled.set(t.pid, t.startTime);
        const outside = first.filter((t) => t.pgid !== held);
        sendOutsideGroup(outside, 'SIGTERM');
        sendOutsideGroup(outside, 'SIGCONT');
      } else {
        send(first, 'SIGTERM');
        send(first, 'SIGCONT');
      }
      known = first;
    }

    // Phase 2: the grace. Poll only the processes we know (cheap: one stat each); when they are all gone, rescan once
    // for ones forked meanwhile and give those the same treatment within the same deadline. A poll or scan still
    // running when the grace ends is not waited for.
    while (!graceEnded) {
      const poll = pause(pollMs, polling.signal).then((due) => (due ? stillAlive(proc, known) : known));
      const polled = await beforeEnd(poll, graceOver);
      if (polled === undefined) {
        graceEnded = true;
        break;
      }
      known = polled;
      if (known.length > 0) continue;
      const found = await beforeEnd(scan(), graceOver);
      if (found === undefined) {
        graceEnded = true;
        break;
      }
      known = found;
      if (known.length === 0) break;
      send(known, 'SIGTERM');
      send(known, 'SIGCONT');
    }
    polling.abort();

    // Phase 3: SIGKILL whatever is left, then verify, killing again anything that forked in between. cgroup.kill also
    // reaches members forked since the scan (the kernel kills a cgroup's forks in flight too). What was alive at the
    // last poll, and a held group, get it the moment the grace ends.
    let forced = false;
    if (graceEnded && (known.length > 0 || held !== null)) {
      forced = known.length > 0;
      if (held !== null) deliver(-held, 'SIGKILL');
      send(known, 'SIGKILL');
      await opts.cgroup?.kill();
    }
    let targets = await scan();
    forced ||= targets.length > 0;
    const verifyEnd = performance.now() + verifyMs;
    while (targets.length > 0) {
      send(targets, 'SIGKILL');
      await opts.cgroup?.kill();
      const remaining = verifyEnd - performance.now();
      if (remaining <= 0 || !(await pause(Math.min(pollMs, remaining), opts.signal))) break;
      targets = await scan();
    }
    if (targets.length > 0) targets = await scan(); // the loop ran out of time right after a SIGKILL
    return await tally(targets, forced);
  } finally {
    graceTimer.abort(); // no timer outlives the call
    polling.abort();
  }
}

/** The cgroup's live members (a zombie is gone for us), marked or not. */
async function cgroupMembers(proc: ProcReader, cgroup: RunCgroup | null | undefined): Promise<RunProcess[]> {
  if (!cgroup) return [];
  const stats = await Promise.all((await cgroup.pids()).map((pid) => proc.readStat(pid)));
  return stats
    .filter((s): s is ProcStat => s !== null && isLiveState(s.state))
    .map((s) => ({ ...s, marked: false }));
}

/** ESRCH (already gone) is success; EPERM means the process survives whatever we do. */
function deliver(pid: number, sig: NodeJS.Signals): 'sent' | 'gone' | 'refused' {
  try {
    process.kill(pid, sig);
    return 'sent';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return 'refused';
    return 'gone';
  }
}

async function stillAlive<T extends ProcStat>(proc: ProcReader, list: T[]): Promise<T[]> {
  const alive = await Promise.all(list.map((p) => proc.isSameProcessAlive(p.pid, p.startTime)));
  return list.filter((_, i) => alive[i] === true);
}

/** `work`'s value, or undefined when `end` settles first (`work` then goes on unobserved; it never rejects here). */
function beforeEnd<T>(work: Promise<T>, end: Promise<unknown>): Promise<T | undefined> {
  return Promise.race([work, end.then(() => undefined)]);
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b === undefined ? a : AbortSignal.any([a, b]);
}

/** Waits `ms`; false when the signal aborted (before or during the wait). */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
