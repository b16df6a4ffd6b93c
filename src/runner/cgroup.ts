/**
 * One cgroup v2 per run, for the kill: the only way to find a descendant that left the process group AND cleared
 * its environment (kill-tree.ts). A process cannot leave its cgroup on its own; `cgroup.kill` (Linux 5.14+) SIGKILLs
 * every member at once, forks in flight included.
 *
 * Layout: `<cgroup2 mount><the daemon's own cgroup>/nightshift-runs/run-<run id>`. Only directories are created
 * here; enabling the `memory` and `cpu` controllers for the run cgroups, and writing the limits, is cgroup-limits.ts's
 * (cgroup v2's "no internal processes" rule concerns domain controllers only, so without limits the daemon may sit in
 * the parent of its run cgroups). The same directory layout serves the cgroup v1 hierarchies (cgroup-v1.ts).
 *
 * Optional by design (the issue's rule: "where a cgroup is writable, use it for the kill; the marker path must work
 * without one"): `detectRunCgroups` returns null on cgroup v1-only hosts, read-only mounts, or a non-root daemon
 * whose cgroup is not delegated to it (systemd `Delegate=yes`). Every failure after detection is logged and
 * ignored: the marker and the process group still work.
 *
 * Paths come from an injectable `/proc` root and the mount point named in its mountinfo, so tests use fixture trees.
 */
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '../util/logger.ts';
import { isLiveState, type ProcReader } from './proc.ts';
import { cgroupDirOf, parseCgroup2Mounts, parseOwnCgroup } from './cgroup-mounts.ts';

/** What the cgroup code logs: problems worth a line, never fatal. */
export type CgroupLogger = Pick<Logger, 'debug' | 'warn'>;

/** The run cgroups of this daemon (or `nightshift exec`): one directory holding one cgroup per run. */
export interface RunCgroups {
  /** Absolute path of the directory that holds the run cgroups. */
  readonly base: string;
  /** Creates the run's cgroup (reused if it exists); null when that fails (logged): the run goes without one. */
  forRun(runId: string): RunCgroup | null;
  /** The run's cgroup if it exists (a previous daemon's run, for recovery); null otherwise. */
  find(runId: string): Promise<RunCgroup | null>;
  /**
   * Removes run cgroups that are empty, as a daemon killed with -9 leaves them; returns how many. Ones modified less
   * than `minAgeMs` ago (default 60 s) are kept: another daemon or `nightshift exec` sharing the directory may have
   * just created one and be about to move its child in.
   */
  sweepEmpty(opts?: { minAgeMs?: number }): Promise<number>;
}

/** One run's cgroup. Nothing here throws: a failure is logged (or returned) and the marker path carries on. */
export interface RunCgroup {
  readonly path: string;
  /** Moves `pid` into the cgroup (synchronous: called in the tick spawn() returned). False if that failed. */
  adopt(pid: number): boolean;
  /** The members (cgroup.procs): live processes only; a zombie is no longer listed. Empty when unreadable. */
  pids(): Promise<number[]>;
  /** SIGKILLs every member: `cgroup.kill`, or, before Linux 5.14 (no such file), each pid of cgroup.procs. */
  kill(): Promise<void>;
  /** Removes the cgroup; true when it is gone. False while it has members; a leftover is for `sweepEmpty`. */
  remove(): Promise<boolean>;
}

export interface DetectOptions {
  procRoot?: string;
  logger?: CgroupLogger;
  /** The directory under the daemon's own cgroup; tests use their own so they never touch a daemon's. */
  dirName?: string;
}

export const RUN_CGROUPS_DIR = 'nightshift-runs';
const RUN_PREFIX = 'run-';
const SWEEP_MIN_AGE_MS = 60_000;
/** Passes of adoptDescendants: each moves what the previous pass's moves let slip (their own fresh children). */
const CATCH_UP_PASSES = 3;
/** rmdir can fail with EBUSY for a moment after the last member died; retry this often, this far apart. */
const REMOVE_ATTEMPTS = 10;
const REMOVE_RETRY_MS = 20;
/** Errors that mean "no writable cgroup here" — expected on many hosts, so logged at debug only. */
const UNAVAILABLE = new Set(['EACCES', 'EROFS', 'EPERM', 'ENOENT']);

export { cgroupDirOf, parseCgroup2Mounts, parseOwnCgroup, unescapeMountField, type Cgroup2Mount } from './cgroup-mounts.ts';

/**
 * Finds where this process may create run cgroups, creates `<own cgroup>/nightshift-runs`, and sweeps the empty run
 * cgroups a killed daemon left there. Null — the runs get no cgroup, the marker and the process group still work —
 * when there is no cgroup2 mount, the process is not in it, or the directory cannot be created or written.
 */
export async function detectRunCgroups(opts: DetectOptions = {}): Promise<RunCgroups | null> {
  const procRoot = opts.procRoot ?? '/proc';
  const logger = opts.logger;
  const unavailable = (reason: string, fields: Record<string, unknown> = {}): null => {
    logger?.debug({ ...fields, reason }, 'no run cgroups');
    return null;
  };
  let mountinfo: string;
  let ownCgroup: string;
  try {
    [mountinfo, ownCgroup] = await Promise.all([
      readFile(join(procRoot, 'self', 'mountinfo'), 'utf8'),
      readFile(join(procRoot, 'self', 'cgroup'), 'utf8'),
    ]);
  } catch (err) {
    return unavailable(`cannot read ${procRoot}/self: ${errCode(err)}`);
  }
  const mounts = parseCgroup2Mounts(mountinfo);
  if (mounts.length === 0) return unavailable('no cgroup2 mount');
  const own = parseOwnCgroup(ownCgroup);
  if (own === null) return unavailable('this process has no cgroup v2 path (no 0:: line)');
  const ownDir = cgroupDirOf(mounts, own);
  if (ownDir === null) return unavailable(`cgroup ${own} is not visible under any cgroup2 mount`, { mounts });

  return runCgroupsUnder(ownDir, { dirName: opts.dirName, logger }, unavailable);
}

/**
 * Creates `<ownDir>/nightshift-runs` (or `dirName`), sweeps what a killed daemon left in it, and returns it; null when
 * this process may not write its own cgroup there. Shared by the cgroup v2 tree and the v1 hierarchies (cgroup-v1.ts).
 */
export async function runCgroupsUnder(
  ownDir: string,
  opts: { dirName?: string | undefined; logger?: CgroupLogger | undefined },
  unavailable: (reason: string, fields?: Record<string, unknown>) => null,
): Promise<RunCgroups | null> {
  const logger = opts.logger;
  const base = join(ownDir, opts.dirName ?? RUN_CGROUPS_DIR);
  try {
    // Moving a child into a run cgroup writes the pid to its cgroup.procs and needs write access to the common
    // ancestor's: ours. A non-root daemon has it only where systemd delegated the cgroup (Delegate=yes).
    await access(join(ownDir, 'cgroup.procs'), constants.W_OK);
    await mkdirOrExists(base);
  } catch (err) {
    const code = errCode(err);
    if (!UNAVAILABLE.has(code)) {
      logger?.warn({ cgroup: base, err: code }, 'cannot create the run cgroups directory: runs go without cgroups');
      return null;
    }
    return unavailable(`${base}: ${code}`, { cgroup: base });
  }
  const cgroups = new CgroupDirectory(base, logger);
  const swept = await cgroups.sweepEmpty();
  if (swept > 0) logger?.debug({ cgroup: base, swept }, 'removed empty run cgroups left by an earlier daemon');
  return cgroups;
}

class CgroupDirectory implements RunCgroups {
  readonly base: string;
  private readonly logger: CgroupLogger | undefined;

  constructor(base: string, logger: CgroupLogger | undefined) {
    this.base = base;
    this.logger = logger;
  }

  forRun(runId: string): RunCgroup | null {
    const path = this.pathOf(runId);
    if (path === null) return null;
    try {
      mkdirSync(path);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') {
        this.logger?.warn({ run: runId, cgroup: path, err: errCode(err) }, 'cannot create the run cgroup: marker only');
        return null;
      }
    }
    return new RunCgroupDir(runId, path, this.logger);
  }

  async find(runId: string): Promise<RunCgroup | null> {
    const path = this.pathOf(runId);
    if (path === null) return null;
    try {
      return (await stat(path)).isDirectory() ? new RunCgroupDir(runId, path, this.logger) : null;
    } catch {
      return null;
    }
  }

  async sweepEmpty(opts: { minAgeMs?: number } = {}): Promise<number> {
    const minAgeMs = opts.minAgeMs ?? SWEEP_MIN_AGE_MS;
    let names: string[];
    try {
      names = await readdir(this.base);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!name.startsWith(RUN_PREFIX)) continue;
      const path = join(this.base, name);
      try {
        const info = await stat(path);
        if (!info.isDirectory() || Date.now() - info.mtimeMs < minAgeMs) continue;
        await rmdir(path); // the kernel refuses (EBUSY) while the cgroup has members or children
        removed += 1;
      } catch {
        // in use, or gone meanwhile
      }
    }
    return removed;
  }

  /** Run ids are ULIDs; anything that is not a plain name never becomes a path. */
  private pathOf(runId: string): string | null {
    if (/^[A-Za-z0-9_-]+$/.test(runId)) return join(this.base, RUN_PREFIX + runId);
    this.logger?.warn({ run: runId }, 'run id is not usable as a cgroup name: marker only');
    return null;
  }
}

class RunCgroupDir implements RunCgroup {
  readonly path: string;
  private readonly runId: string;
  private readonly logger: CgroupLogger | undefined;

  constructor(runId: string, path: string, logger: CgroupLogger | undefined) {
    this.runId = runId;
    this.path = path;
    this.logger = logger;
  }

  adopt(pid: number): boolean {
    try {
      writeExistingSync(join(this.path, 'cgroup.procs'), String(pid));
      return true;
    } catch (err) {
      // ESRCH: it already exited (the exit is handled as usual). Otherwise the run is tracked by marker and group.
      if (errCode(err) !== 'ESRCH') {
        const fields = { run: this.runId, pid, cgroup: this.path, err: errCode(err) };
        this.logger?.warn(fields, 'cannot move the run into its cgroup: marker only');
      }
      return false;
    }
  }

  async pids(): Promise<number[]> {
    let content: string;
    try {
      content = await readFile(join(this.path, 'cgroup.procs'), 'utf8');
    } catch {
      return [];
    }
    return content
      .split('\n')
      .filter((line) => /^[1-9][0-9]*$/.test(line))
      .map(Number);
  }

  async kill(): Promise<void> {
    try {
      await writeExisting(join(this.path, 'cgroup.kill'), '1');
      return;
    } catch {
      // No cgroup.kill before Linux 5.14 (ENOENT); the fallback below also covers a cgroup removed meanwhile.
    }
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, or not ours to signal (it is then reported as a survivor by the caller's scan)
      }
    }
  }

  async remove(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await rmdir(this.path);
        return true;
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT') return true;
        // EBUSY with members is not the transient case: a survivor holds it; the sweep removes it once empty.
        if (code !== 'EBUSY' || attempt >= REMOVE_ATTEMPTS || (await this.pids()).length > 0) {
          this.logger?.debug({ run: this.runId, cgroup: this.path, err: code }, 'run cgroup left for the sweep');
          return false;
        }
        await sleep(REMOVE_RETRY_MS);
      }
    }
  }
}

/**
 * Moves into the cgroup the descendants of `rootPid` that are outside it: those it forked while its own move was in
 * flight. That move is not instant — writing cgroup.procs waits for an RCU grace period, about a millisecond, and a
 * fork meanwhile is not held back — so a command that forks at once (a shell script's first line) often has a child
 * outside (8 of 30 to 18 of 20 runs in tests on Linux 6.18). They are found by parent pid, so what this misses is a
 * process whose parent already exited before the scan (a double fork within the first milliseconds). Returns how
 * many it moved; never throws.
 */
export async function adoptDescendants(
  cgroup: RunCgroup,
  rootPid: number,
  proc: ProcReader,
  notBeforeStartTime?: number,
): Promise<number> {
  let moved = 0;
  for (let pass = 0; pass < CATCH_UP_PASSES; pass++) {
    // Members first, then the tree: a child a member forks in between is born inside (and moving it again is a no-op).
    const members = new Set(await cgroup.pids());
    // Not a member: never moved, or gone — then its children were reparented and cannot be told apart.
    if (!members.has(rootPid)) return moved;
    const stats = await proc.readAllStats();
    const children = new Map<number, number[]>();
    for (const s of stats) {
      if (s === null || !isLiveState(s.state) || s.startTime < (notBeforeStartTime ?? 0)) continue;
      children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
    }
    const outside = descendantsOf(rootPid, children).filter((pid) => !members.has(pid));
    if (outside.length === 0) return moved;
    for (const pid of outside) if (cgroup.adopt(pid)) moved += 1;
  }
  return moved;
}

function descendantsOf(root: number, children: Map<number, number[]>): number[] {
  const found = new Set<number>(); // a set: a snapshot taken across pid reuse must not loop
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      if (child === root || found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return [...found];
}

async function mkdirOrExists(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
  }
}

/**
 * cgroupfs files exist or do not; opening one with O_CREAT (what writeFile does) would, on a fixture tree, create a
 * file where the kernel has none (cgroup.kill before 5.14). So: O_WRONLY only, one write() of the whole value.
 */
export function writeExistingSync(path: string, value: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

export async function writeExisting(path: string, value: string): Promise<void> {
  const handle = await open(path, constants.O_WRONLY);
  try {
    await handle.write(value);
  } finally {
    await handle.close();
  }
}

export function errCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : String(err);
}
