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
import { readFile, realpath, stat as statPath } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';

import type { CommandSpec, JobConfig } from '../config/types.ts';
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
export type DuplicateJob = Pick<JobConfig, 'name' | 'command' | 'cwd'>;

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

/** Shells recognised in the exact `sh -c <script>` form. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);
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


// ---- matching ----

/** `unknown`: would need the process's cwd, which cannot be read. `needs_cwd`: read it, then match again. */
export type Verdict = 'match' | 'no' | 'needs_cwd' | 'unknown';

/** An argument compared literally (options, words), or as a path (resolved against each side's working directory). */
type Operand = { kind: 'literal'; text: string } | { kind: 'path'; text: string; paths: string[] };

interface ArgvPattern {
  /** argv[0] as the job gives it; `bare` when it has no `/` (found on PATH). */
  program: string;
  bare: boolean;
  /** Absolute forms of argv[0] when it is a path. */
  programPaths: string[];
  args: Operand[];
}

export interface CompiledJob {
  name: string;
  /** The argv to look for: the job's argv, or the words of a simple shell command; null when there is none. */
  argv: ArgvPattern | null;
  /** For shell jobs: the script, matched exactly as `sh -c <script>`. */
  script: string | null;
}

/** Prepares a job for matching: splits a shell command, and decides which arguments are paths (a few stat calls). */
export async function compileJob(job: DuplicateJob, fsRoot = '/'): Promise<CompiledJob> {
  const words = job.command.kind === 'argv' ? job.command.argv : shellWords(job.command.script);
  const script = job.command.kind === 'shell' ? job.command.script : null;
  if (words === null || words.length === 0) return { name: job.name, argv: null, script };
  const [program, ...rest] = words as [string, ...string[]];
  const bare = !program.includes('/');
  return {
    name: job.name,
    script,
    argv: {
      program,
      bare,
      programPaths: bare ? [] : await pathForms(posix.resolve(job.cwd, program), fsRoot),
      args: await Promise.all(rest.map((arg) => classifyOperand(arg, job.cwd, fsRoot))),
    },
  };
}

/**
 * A job argument is a path when it is absolute, contains a `/`, or names something that exists in the job's cwd
 * (`worker.js`); then `worker.js` in the job and `/opt/app/worker.js` in the process are the same argument, and
 * `worker.js` run from another directory is not. Options (`-x`, `--x=y`), URLs and other words compare literally.
 */
async function classifyOperand(arg: string, cwd: string, fsRoot: string): Promise<Operand> {
  if (arg === '' || arg.startsWith('-') || arg.includes('://') || arg.includes('\n')) return { kind: 'literal', text: arg };
  const absolute = posix.resolve(cwd, arg);
  if (!arg.includes('/') && !(await exists(underRoot(absolute, fsRoot)))) return { kind: 'literal', text: arg };
  return { kind: 'path', text: arg, paths: await pathForms(absolute, fsRoot) };
}

/** The path and, when it exists and differs, its real path (a process's cwd is always a real path). */
async function pathForms(absolute: string, fsRoot: string): Promise<string[]> {
  const forms = [posix.normalize(absolute)];
  try {
    const real = await realpath(underRoot(absolute, fsRoot));
    const inside = fsRoot === '/' ? real : real.startsWith(`${fsRoot}/`) ? real.slice(fsRoot.length) : null;
    if (inside !== null && !forms.includes(inside)) forms.push(inside);
  } catch {
    // does not exist (or not ours to see): the written form is all we have
  }
  return forms;
}

function underRoot(absolute: string, fsRoot: string): string {
  return fsRoot === '/' ? absolute : join(fsRoot, absolute);
}

async function exists(path: string): Promise<boolean> {
  try {
    await statPath(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process's argv runs the job's command. `cwd`: undefined when not read yet (a relative path argument then
 * answers `needs_cwd`), null when unreadable.
 */
export function matchJob(job: CompiledJob, argv: readonly string[], cwd: string | null | undefined): Verdict {
  if (job.script !== null && argv.length === 3 && argv[1] === '-c' && argv[2] === job.script && SHELLS.has(basename(argv[0] ?? ''))) return 'match';
  if (job.argv === null) return 'no';
  let best: Verdict = 'no';
  // Offset 0: the program itself. Offsets 1-2: an interpreter running the job's program as a script (a `#!` line,
  // with at most one interpreter option), as the kernel shows it: `/bin/bash ./worker.sh --full`.
  for (let offset = 0; offset <= 2; offset++) {
    const verdict = matchAt(job.argv, argv, offset, cwd);
    if (verdict === 'match') return 'match';
    if (verdict !== 'no') best = verdict;
  }
  return best;
}

function matchAt(pattern: ArgvPattern, argv: readonly string[], offset: number, cwd: string | null | undefined): Verdict {
  if (argv.length !== offset + 1 + pattern.args.length) return 'no';
  for (let i = 1; i < offset; i++) if (!argv[i]!.startsWith('-')) return 'no';
  const program = argv[offset]!;
  let pending: Verdict | null = null;
  let pathArgMatched = false;
  if (basename(program) !== basename(pattern.program)) return 'no';
  if (offset > 0 && pattern.bare && !program.includes('/')) return 'no'; // `sudo python3 …` is a wrapper, not a #! script
  if (offset > 0 && !pattern.bare) {
    const verdict = samePath(pattern.programPaths, program, cwd);
    if (verdict === 'no') return 'no';
    if (verdict !== 'match') pending = verdict;
  }
  for (let i = 0; i < pattern.args.length; i++) {
    const operand = pattern.args[i]!;
    const actual = argv[offset + 1 + i]!;
    if (operand.kind === 'literal') {
      if (actual !== operand.text) return 'no';
      continue;
    }
    const verdict = samePath(operand.paths, actual, cwd);
    if (verdict === 'no') return 'no';
    if (verdict === 'match') pathArgMatched = true;
    else pending = pending === 'unknown' ? 'unknown' : verdict;
  }
  // Both sides name the executable by path and no script path identifies the program: the paths must agree
  // (`/opt/a/bin/server` is not `/opt/b/bin/server`). With a script (`node /opt/app/worker.js`), the interpreter's
  // path may differ: /usr/bin/node and /usr/local/bin/node run the same worker.
  if (offset === 0 && !pattern.bare && program.includes('/') && !pathArgMatched) {
    const verdict = samePath(pattern.programPaths, program, cwd);
    if (verdict === 'no') return 'no';
    if (verdict !== 'match') pending = pending === 'unknown' ? 'unknown' : verdict;
  }
  return pending ?? 'match';
}

function samePath(paths: readonly string[], actual: string, cwd: string | null | undefined): Verdict {
  if (actual === '' || actual.startsWith('-')) return 'no';
  if (actual.startsWith('/')) return paths.includes(posix.normalize(actual)) ? 'match' : 'no';
  if (cwd === undefined) return 'needs_cwd';
  if (cwd === null) return 'unknown';
  return paths.includes(posix.resolve(cwd, actual)) ? 'match' : 'no';
}

/**
 * The words of a simple shell command, as `sh` would pass them as argv — or null when the script is more than one
 * simple command or depends on expansion (then only the exact `sh -c <script>` form is matched). Rules: words are
 * separated by spaces and tabs; '…' is literal; "…" is literal except \" \\ \$ \`; a backslash outside quotes escapes
 * the next character; leading `NAME=value` assignments and a leading `exec` are dropped. Null for: unquoted
 * | & ; < > ( ) { } * ? [ # ~ $ ` or a newline, and $ or ` inside double quotes.
 */
export function shellWords(script: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i]!;
    if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      if (end === -1) return null;
      word += script.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (ch === '"') {
      inWord = true;
      for (i++; ; i++) {
        const c = script[i];
        if (c === undefined || c === '$' || c === '`') return null;
        if (c === '"') break;
        if (c === '\\' && '"\\$`'.includes(script[i + 1] ?? 'x')) word += script[++i];
        else word += c;
      }
    } else if (ch === '\\') {
      if (i + 1 >= script.length || script[i + 1] === '\n') return null;
      word += script[++i];
      inWord = true;
    } else if ('|&;<>(){}*?[$`\n\r'.includes(ch) || ((ch === '#' || ch === '~') && !inWord)) {
      return null;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift();
  if (words[0] === 'exec') words.shift();
  return words.length > 0 ? words : null;
}

/** argv joined by spaces, each word single-quoted when it holds anything a shell would treat specially. */
export function displayArgv(argv: readonly string[]): string {
  return argv.map((arg) => (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** The command of a job as one line, for messages. */
export function displayCommand(command: CommandSpec): string {
  return command.kind === 'shell' ? command.script : displayArgv(command.argv);
}
