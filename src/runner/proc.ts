/**
 * A small reader of Linux `/proc`: enough to find every process that belongs to a run and to tell whether a pid is
 * still the process we think it is.
 *
 * Why by hand: it is small and Linux-specific (DESIGN.md, "Dependencies"). The root is injectable so tests can point
 * it at a fixture tree of `<pid>/stat` and `<pid>/environ` files.
 *
 * Reads are asynchronous on purpose: reading `/proc/PID/environ` takes the target's memory-map lock, and a process
 * stuck in the kernel (a hung NFS page fault) can block that read; on the libuv thread pool it ties up one thread,
 * synchronously it would freeze the whole daemon.
 *
 * Processes die during a scan. A read that fails because the process is gone or not ours to read (ENOENT, ESRCH,
 * EACCES, a half-written file) means "skip this pid". A read that fails for want of file descriptors (EMFILE,
 * ENFILE — many kills scanning at once) says nothing about the process: it is retried, because reading it as "gone"
 * would let a kill signal nothing and report no survivors. Scans also bound how many reads are in flight.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { RUN_MARKER_VAR } from './types.ts';

export interface ProcStat {
  pid: number;
  /** The executable name as the kernel keeps it (at most 15 bytes; may contain spaces and parentheses). */
  comm: string;
  /** One letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, X dead, … */
  state: string;
  ppid: number;
  pgid: number;
  session: number;
  /** Field 22: when the process started, in clock ticks since boot. With the pid, it names one process for good. */
  startTime: number;
}

/**
 * Parses the content of `/proc/PID/stat`. The second field, `(comm)`, can contain spaces and parentheses, so the
 * fixed fields are taken after the LAST `)`. Returns null for anything that does not look like a stat line.
 */
export function parseStat(content: string): ProcStat | null {
  const open = content.indexOf('(');
  const close = content.lastIndexOf(')');
  if (open < 1 || close < open) return null;
  const pid = Number(content.slice(0, open).trim());
  // After ") ": state(3) ppid(4) pgrp(5) session(6) … starttime(22) → index 22 - 3 = 19.
  const fields = content.slice(close + 1).trim().split(/\s+/);
  const state = fields[0];
  const nums = [fields[1], fields[2], fields[3], fields[19]].map((f) => (f === undefined ? NaN : Number(f)));
  const [ppid, pgid, session, startTime] = nums as [number, number, number, number];
  if (!Number.isInteger(pid) || state === undefined || state.length !== 1) return null;
  if (![ppid, pgid, session, startTime].every(Number.isInteger)) return null;
  return { pid, comm: content.slice(open + 1, close), state, ppid, pgid, session, startTime };
}

/** Zombies (Z) and dead tasks (X) hold a pid but run nothing: for us they are gone. */
export function isLiveState(state: string): boolean {
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

/**
 * True when the NUL-separated environment block holds exactly the entry `entry` (not a longer value with it as a
 * prefix, not a longer name ending in it).
 */
export function environHasEntry(environ: Buffer, entry: string): boolean {
  const needle = Buffer.from(entry);
  let from = 0;
  for (;;) {
    const at = environ.indexOf(needle, from);
    if (at === -1) return false;
    const startsEntry = at === 0 || environ[at - 1] === 0;
    const end = at + needle.length;
    const endsEntry = end === environ.length || environ[end] === 0;
    if (startsEntry && endsEntry) return true;
    from = at + 1;
  }
}

export interface ScanOptions {
  /** Skip processes that started before this (clock ticks since boot): a run's processes cannot be older than it. */
  notBeforeStartTime?: number;
}

export interface RunProcessQuery extends ScanOptions {
  /** Also match live members of this process group, marked or not (a child that cleared its environment). */
  pgid?: number | null;
}

export interface RunProcess extends ProcStat {
  /** Carries the run's marker (else it matched as a process group member, or killTree found it in the cgroup). */
  marked: boolean;
}

export class ProcReader {
  readonly root: string;

  constructor(root: string = '/proc') {
    this.root = root;
  }

  /** Every numeric entry of the root: the thread-group leaders, i.e. processes. */
  async listPids(): Promise<number[]> {
    let names: string[];
    try {
      names = await withFdRetry(() => readdir(this.root));
    } catch {
      return []; // no /proc (not Linux, or a bare container): the caller falls back to the process group
    }
    const pids: number[] = [];
    for (const name of names) {
      if (/^[1-9][0-9]*$/.test(name)) pids.push(Number(name));
    }
    return pids;
  }

  async readStat(pid: number): Promise<ProcStat | null> {
    try {
      return parseStat(await withFdRetry(() => readFile(join(this.root, String(pid), 'stat'), 'utf8')));
    } catch {
      return null;
    }
  }

  /**
   * Resident memory in bytes: `VmRSS` of /proc/PID/status (in kB there, so no page size is needed); 0 for a process
   * without one (a kernel thread); null when gone or unreadable.
   */
  async readRssBytes(pid: number): Promise<number | null> {
    try {
      const status = await withFdRetry(() => readFile(join(this.root, String(pid), 'status'), 'utf8'));
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return null;
    }
  }

  /** Whether the process's environment holds `NIGHTSHIFT_RUN_ID=<runId>` (false when unreadable or gone). */
  async hasMarker(pid: number, runId: string, markerVar: string = RUN_MARKER_VAR): Promise<boolean> {
    try {
      const environ = await withFdRetry(() => readFile(join(this.root, String(pid), 'environ')));
      return environHasEntry(environ, `${markerVar}=${runId}`);
    } catch {
      return false;
    }
  }

  async pidStartTime(pid: number): Promise<number | null> {
    return (await this.readStat(pid))?.startTime ?? null;
  }

  /**
   * Synchronous, for one moment only: right after spawn() returns, before the event loop runs again, our own child
   * cannot have been reaped yet, so its start time is certain to be readable (a zombie still has its stat).
   */
  pidStartTimeSync(pid: number): number | null {
    try {
      return parseStat(readFileSync(join(this.root, String(pid), 'stat'), 'utf8'))?.startTime ?? null;
    } catch {
      return null;
    }
  }

  /** PID-reuse safe: the pid must still exist, not be a zombie, and have started at the same tick. */
  async isSameProcessAlive(pid: number, startTime: number): Promise<boolean> {
    const stat = await this.readStat(pid);
    return stat !== null && stat.startTime === startTime && isLiveState(stat.state);
  }

  /** Live processes carrying the run's marker. */
  async findMarkedPids(runId: string, opts: ScanOptions = {}): Promise<number[]> {
    return (await this.findRunProcesses(runId, opts)).filter((p) => p.marked).map((p) => p.pid);
  }

  /**
   * Live processes that belong to a run: those carrying its marker, plus (when `pgid` is given) members of its
   * process group. Zombies are left out.
   */
  async findRunProcesses(runId: string, query: RunProcessQuery = {}): Promise<RunProcess[]> {
    const notBefore = query.notBeforeStartTime ?? 0;
    const pgid = query.pgid ?? null;
    const found: RunProcess[] = [];
    for (const entry of await this.snapshot()) {
      if (entry.stat.startTime < notBefore) continue;
      const marked = entry.markers.includes(runId);
      if (marked || (pgid !== null && entry.stat.pgid === pgid)) found.push({ ...entry.stat, marked });
    }
    return found;
  }

  /**
   * Every live process with the run markers it carries. Concurrent callers (a hundred runs killed at once) share
   * scans: only one runs at a time, and a caller that comes while one is running waits for the next, which starts
   * when it ends and is shared by everyone who waited. A scan that started before the caller came is never used: it
   * may predate a process the caller must see (a child forked a moment ago). Each /proc entry is then read once per round, not once per kill: with 100 runs
   * timing out together, 68 scans used to run side by side, each taking 2.5–3.6 s instead of ~40 ms alone
   * (docs/benchmarks.md, section 4).
   */
  private snapshot(): Promise<SnapshotEntry[]> {
    let shared = snapshots.get(this.root);
    if (!shared) snapshots.set(this.root, (shared = { last: null, next: null }));
    const last = shared.last;
    if (last && !last.done) {
      const state = shared;
      state.next ??= last.entries.then(
        () => this.startScan(state).entries,
        () => this.startScan(state).entries,
      );
      return state.next;
    }
    return this.startScan(shared).entries;
  }

  private startScan(shared: SharedScans): SharedScan {
    const scan: SharedScan = { entries: this.scan(), done: false };
    shared.last = scan;
    shared.next = null;
    const finished = (): void => {
      scan.done = true;
    };
    scan.entries.then(finished, finished);
    return scan;
  }

  private async scan(): Promise<SnapshotEntry[]> {
    return inBatches(await this.listPids(), async (pid): Promise<SnapshotEntry | null> => {
      const stat = await this.readStat(pid);
      if (stat === null || !isLiveState(stat.state)) return null;
      return { stat, markers: await this.readMarkers(pid) };
    });
  }

  /** The stat of every process, fresh (not from the shared snapshot): for walking a tree that is forking right now. */
  async readAllStats(): Promise<ProcStat[]> {
    return inBatches(await this.listPids(), (pid) => this.readStat(pid));
  }

  private async readMarkers(pid: number): Promise<string[]> {
    try {
      return markerValues(await withFdRetry(() => readFile(join(this.root, String(pid), 'environ'))), RUN_MARKER_VAR);
    } catch {
      return [];
    }
  }
}

interface SnapshotEntry {
  stat: ProcStat;
  markers: string[];
}

interface SharedScan {
  entries: Promise<SnapshotEntry[]>;
  done: boolean;
}

/** Per /proc root: the latest scan, and the one queued behind it while it runs. */
interface SharedScans {
  last: SharedScan | null;
  next: Promise<SnapshotEntry[]> | null;
}

/** Shared scans per /proc root. */
const snapshots = new Map<string, SharedScans>();

/** The values of every `NAME=value` entry of a NUL-separated environment (a process may carry a name twice). */
export function markerValues(environ: Buffer, name: string): string[] {
  const values: string[] = [];
  const prefix = `${name}=`;
  for (const entry of environ.toString('utf8').split('\0')) if (entry.startsWith(prefix)) values.push(entry.slice(prefix.length));
  return values;
}

/** Maps pids with a bounded number of reads in flight, so a busy host cannot exhaust the file descriptors. */
async function inBatches<T>(pids: number[], read: (pid: number) => Promise<T | null>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < pids.length; i += SCAN_BATCH) {
    for (const value of await Promise.all(pids.slice(i, i + SCAN_BATCH).map(read))) if (value !== null) out.push(value);
  }
  return out;
}

/** Reads in flight per scan. */
const SCAN_BATCH = 32;
/** How long a read waits in all for file descriptors to free up before it gives up (and the pid reads as gone). */
const FD_RETRY_MS = 2_000;
const FD_RETRY_STEP_MS = 10;

/** Runs a /proc read again while the process (or the host) is out of file descriptors. */
async function withFdRetry<T>(read: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += FD_RETRY_STEP_MS) {
    try {
      return await read();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || waited >= FD_RETRY_MS) throw error;
      await sleep(FD_RETRY_STEP_MS);
    }
  }
}
