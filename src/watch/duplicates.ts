/**
 * Finds copies of a job running outside nightshift (seed 001: a hand-started second ingestion worker next to the
 * supervised one, both writing the same data). A duplicate is a live process whose command line is the job's command
 * and which carries no run marker (`NIGHTSHIFT_RUN_ID=<id>` in its environment, src/runner/types.ts).
 *
 * Cost is bounded: one pass over /proc reads only `cmdline` of every process and matches it in memory; `cwd`,
 * `stat`, `environ`, `cgroup` and `status` are read only for the few whose command line matched (the job's own
 * runs, and the duplicates). docs/duplicates.md describes the matching for users; bench/duplicate-scan.mjs measures it.
 *
 * Never reported: a process carrying any run marker (ours, another daemon's, `nightshift exec`'s); one whose
 * environment cannot be read (unknown: counted in the stats, not reported); the daemon and its ancestors; kernel
 * threads and zombies; a process whose process-group leader, session leader or an ancestor carries a marker, or that
 * sits in a run's cgroup (a run's child that cleared its environment).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { compileJob, displayArgv, matchJob, type CompiledJob, type DuplicateJob, type Verdict } from './duplicate-match.ts';

export { displayArgv, displayCommand, shellWords, type DuplicateJob } from './duplicate-match.ts';
import { isLiveState, markerValues, ProcReader, type ProcStat } from '../runner/proc.ts';
import {
  mapBounded,
  readBootTimeSeconds,
  readCgroupPath,
  readCmdline,
  readCwd,
  readEnviron,
  readStat,
  readUid,
} from '../runner/proc-details.ts';
import { RUN_MARKER_VAR } from '../runner/types.ts';
import { parsePasswd } from '../runner/users.ts';
import { iso } from '../util/time.ts';

/** What the scan needs of a job. */

export interface DuplicateProcess {
  pid: number;
  argv: string[];
  /** The argv for people: joined by spaces, quoted where needed. */
  cmdline: string;
  uid: number | null;
  /** The user name from `etc/passwd`, else the uid as text, else `?`. */
  user: string;
  /** ISO time the process started (stat starttime + btime), or null when unknown. */
  startedAt: string | null;
}

export interface DuplicateFinding {
  job: string;
  /** Ascending by pid; never empty. */
  pids: DuplicateProcess[];
}

export interface DuplicateScanStats {
  /** Pids listed in /proc. */
  processes: number;
  /** Processes whose command line matched a job (the runs themselves included). */
  candidates: number;
  /** Candidates carrying a run marker: nightshift's own runs. */
  marked: number;
  /** Candidates that might be duplicates but could not be checked (not root: another user's process). */
  unverified: { job: string; pid: number; why: 'environ_unreadable' | 'cwd_unreadable' | 'leader_unreadable' }[];
  elapsedMs: number;
}

export interface DuplicateScannerOptions {
  /** The host root holding `proc/` and `etc/`; default `/`. Tests point it at a fixture tree. */
  root?: string;
  /** Overrides `<root>/proc`. */
  procRoot?: string;
  /** Overrides `<root>/etc`. */
  etcRoot?: string;
  /** The daemon's pid: it and its ancestors are never reported. Default `process.pid`. */
  selfPid?: number;
  /** USER_HZ, the unit of stat's starttime; 100 on every mainstream Linux (`getconf CLK_TCK`). */
  clockTicksPerSecond?: number;
  /** Reads in flight at once; default 32. */
  concurrency?: number;
}

/** How far up the parent chain a candidate is followed looking for a marked ancestor. */
const MAX_ANCESTORS = 32;
/** A run's cgroup (src/runner/cgroup.ts): `…/nightshift-runs/run-<run id>`. */
const RUN_CGROUP = /\/nightshift-runs\/run-[^/]+$/;
/** How long a compiled job (which of its arguments are files) is reused. */
const COMPILED_MAX_AGE_MS = 60_000;

export class DuplicateScanner {
  readonly #proc: ProcReader;
  readonly #procRoot: string;
  readonly #etcRoot: string;
  readonly #fsRoot: string;
  readonly #selfPid: number;
  readonly #ticksPerSecond: number;
  readonly #concurrency: number;
  readonly #compiledJobs = new Map<string, { job: Promise<CompiledJob>; at: number }>();
  #bootSeconds: Promise<number | null> | null = null;

  constructor(options: DuplicateScannerOptions = {}) {
    this.#fsRoot = options.root ?? '/';
    this.#procRoot = options.procRoot ?? join(this.#fsRoot, 'proc');
    this.#etcRoot = options.etcRoot ?? join(this.#fsRoot, 'etc');
    this.#proc = new ProcReader(this.#procRoot);
    this.#selfPid = options.selfPid ?? process.pid;
    this.#ticksPerSecond = options.clockTicksPerSecond ?? 100;
    this.#concurrency = options.concurrency ?? 32;
  }

  async scan(jobs: readonly DuplicateJob[]): Promise<DuplicateFinding[]> {
    return (await this.scanWithStats(jobs)).findings;
  }

  async scanWithStats(jobs: readonly DuplicateJob[]): Promise<{ findings: DuplicateFinding[]; stats: DuplicateScanStats }> {
    const startedAt = performance.now();
    const stats: DuplicateScanStats = { processes: 0, candidates: 0, marked: 0, unverified: [], elapsedMs: 0 };
    const [compiled, pids] = await Promise.all([Promise.all(jobs.map((job) => this.#compiled(job))), this.#proc.listPids()]);
    stats.processes = pids.length;

    // Pass 1: cmdline only, for every process.
    const candidates = await mapBounded(pids, this.#concurrency, async (pid): Promise<Candidate | null> => {
      const argv = await readCmdline(this.#procRoot, pid);
      if (argv === null || argv.length === 0) return null; // gone; or a kernel thread / zombie (no user memory)
      const verdicts = new Map<string, Verdict>();
      for (const job of compiled) {
        const verdict = matchJob(job, argv, undefined);
        if (verdict !== 'no') verdicts.set(job.name, verdict);
      }
      return verdicts.size > 0 ? { pid, argv, verdicts } : null;
    });
    stats.candidates = candidates.length;

    // Pass 2: the few that matched.
    const scan = new ScanState();
    const excluded = candidates.length > 0 ? await this.#selfAndAncestors() : new Set<number>();
    const checked = await mapBounded(candidates, this.#concurrency, (c) => this.#inspect(c, compiled, excluded, scan, stats));
    stats.marked = checked.filter((c) => c.marked).length;
    const unmarked = checked.filter((c) => !c.marked);
    const duplicates = await mapBounded(unmarked, this.#concurrency, async (c) => ((await this.#belongsToRun(c, scan, excluded, stats)) ? null : c));

    const findings = await this.#describe(duplicates, jobs);
    stats.elapsedMs = performance.now() - startedAt;
    return { findings, stats };
  }

  /**
   * A job prepared for matching. Which arguments name files is decided with a few stat calls; the answer is kept for
   * COMPILED_MAX_AGE_MS, so a watch scanning every 30 s does not repeat them each time.
   */
  #compiled(job: DuplicateJob): Promise<CompiledJob> {
    const key = JSON.stringify([job.name, job.command, job.cwd]);
    const now = performance.now();
    const cached = this.#compiledJobs.get(key);
    if (cached !== undefined && now - cached.at < COMPILED_MAX_AGE_MS) return cached.job;
    const compiled = compileJob(job, this.#fsRoot);
    if (this.#compiledJobs.size > 1000) this.#compiledJobs.clear();
    this.#compiledJobs.set(key, { job: compiled, at: now });
    return compiled;
  }

  /** Resolves a candidate's pending matches, then reads what says whether it is a run's: stat and environ. */
  async #inspect(c: Candidate, jobs: CompiledJob[], excluded: Set<number>, scan: ScanState, stats: DuplicateScanStats): Promise<Checked | null> {
    if (excluded.has(c.pid)) return null;
    // All at once: a candidate is nearly always a run or a duplicate, which needs all three anyway.
    const needsCwd = [...c.verdicts.values()].includes('needs_cwd');
    const [cwd, stat, marked] = await Promise.all([
      needsCwd ? readCwd(this.#procRoot, c.pid) : null,
      readStat(this.#procRoot, c.pid),
      scan.markerOf(this.#procRoot, c.pid),
    ]);
    if (needsCwd) {
      for (const job of jobs) {
        if (c.verdicts.get(job.name) !== 'needs_cwd') continue;
        const verdict = matchJob(job, c.argv, cwd);
        if (verdict === 'unknown') stats.unverified.push({ job: job.name, pid: c.pid, why: 'cwd_unreadable' });
        c.verdicts.set(job.name, verdict);
      }
    }
    const matched = [...c.verdicts].filter(([, v]) => v === 'match').map(([name]) => name);
    if (matched.length === 0) return null;
    if (stat === null || !isLiveState(stat.state) || stat.kernelThread) return null; // kernel threads also have an empty cmdline
    if (marked === 'gone') return null;
    if (marked === 'denied') {
      for (const job of matched) stats.unverified.push({ job, pid: c.pid, why: 'environ_unreadable' });
      return null;
    }
    return { pid: c.pid, argv: c.argv, stat, jobs: matched, marked };
  }

  /**
   * Whether an unmarked candidate is still part of a run: its process-group or session leader carries a marker (a
   * run's main process leads both), an ancestor does, or it sits in a run's cgroup. Unknown counts as "part of a run".
   */
  async #belongsToRun(c: Checked, scan: ScanState, excluded: Set<number>, stats: DuplicateScanStats): Promise<boolean> {
    const leaders = [...new Set([c.stat.pgid, c.stat.session])].filter((leader) => leader !== c.pid && leader > 1);
    const [leaderMarks, markedAncestor, cgroup] = await Promise.all([
      Promise.all(leaders.map((leader) => scan.markerOf(this.#procRoot, leader))),
      this.#hasMarkedAncestor(c.stat.ppid, scan, excluded),
      readCgroupPath(this.#procRoot, c.pid),
    ]);
    if (leaderMarks.includes('denied')) {
      for (const job of c.jobs) stats.unverified.push({ job, pid: c.pid, why: 'leader_unreadable' });
      return true;
    }
    return leaderMarks.includes(true) || markedAncestor || (cgroup !== null && RUN_CGROUP.test(cgroup));
  }

  /** Up the parent chain (at most MAX_ANCESTORS), stopping at init and at the daemon's own chain. */
  async #hasMarkedAncestor(ppid: number, scan: ScanState, excluded: Set<number>): Promise<boolean> {
    for (let depth = 0; depth < MAX_ANCESTORS && ppid > 1 && !excluded.has(ppid); depth++) {
      const [marked, parent] = await Promise.all([scan.markerOf(this.#procRoot, ppid), readStat(this.#procRoot, ppid)]);
      if (marked === true) return true;
      if (parent === null) return false;
      ppid = parent.ppid;
    }
    return false;
  }

  /** The daemon's pid and every ancestor's, from the parent chain in stat. */
  async #selfAndAncestors(): Promise<Set<number>> {
    const pids = new Set<number>();
    let pid = this.#selfPid;
    while (pid > 0 && !pids.has(pid) && pids.size < 256) {
      pids.add(pid);
      const stat = await readStat(this.#procRoot, pid);
      if (stat === null) break;
      pid = stat.ppid;
    }
    return pids;
  }

  /** Owner, user name and start time of each duplicate, grouped by job. */
  async #describe(duplicates: Checked[], jobs: readonly DuplicateJob[]): Promise<DuplicateFinding[]> {
    if (duplicates.length === 0) return [];
    // Fixed until the next boot: read once (again only if it was missing).
    this.#bootSeconds ??= readBootTimeSeconds(this.#procRoot).then((seconds) => {
      if (seconds === null) this.#bootSeconds = null;
      return seconds;
    });
    const [bootSeconds, users, uids] = await Promise.all([
      this.#bootSeconds,
      this.#userNames(),
      Promise.all(duplicates.map((c) => readUid(this.#procRoot, c.pid))),
    ]);
    const byJob = new Map<string, DuplicateProcess[]>();
    for (const [i, c] of duplicates.entries()) {
      const uid = uids[i] ?? null;
      const process: DuplicateProcess = {
        pid: c.pid,
        argv: c.argv,
        cmdline: displayArgv(c.argv),
        uid,
        user: uid === null ? '?' : (users.get(uid) ?? String(uid)),
        startedAt: bootSeconds === null ? null : iso(bootSeconds * 1000 + (c.stat.startTime / this.#ticksPerSecond) * 1000),
      };
      for (const job of c.jobs) byJob.set(job, [...(byJob.get(job) ?? []), process]);
    }
    const order = jobs.map((job) => job.name);
    return [...byJob]
      .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
      .map(([job, pids]) => ({ job, pids: pids.sort((a, b) => a.pid - b.pid) }));
  }

  async #userNames(): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    try {
      for (const entry of parsePasswd(await readFile(join(this.#etcRoot, 'passwd'), 'utf8'))) if (!names.has(entry.uid)) names.set(entry.uid, entry.name);
    } catch {
      // no passwd: uids are shown as numbers
    }
    return names;
  }
}

interface Candidate {
  pid: number;
  argv: string[];
  verdicts: Map<string, Verdict>;
}

interface Checked {
  pid: number;
  argv: string[];
  stat: ProcStat;
  jobs: string[];
  marked: boolean;
}

/** Per scan: each pid's environment is read at most once, whether as a candidate, a leader or an ancestor. */
class ScanState {
  readonly #markers = new Map<number, Promise<boolean | 'gone' | 'denied'>>();

  markerOf(procRoot: string, pid: number): Promise<boolean | 'gone' | 'denied'> {
    let known = this.#markers.get(pid);
    if (known === undefined) {
      known = readEnviron(procRoot, pid).then((r) => (r.ok ? markerValues(r.data, RUN_MARKER_VAR).some((v) => v !== '') : r.failure));
      this.#markers.set(pid, known);
    }
    return known;
  }
}
