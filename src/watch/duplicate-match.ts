/**
 * How a process's argv is matched against a job's command (for duplicates.ts): argv jobs word by word with paths
 * resolved, shell jobs by their words, `#!` scripts through their interpreter. Pure apart from resolving the job's
 * own paths once (compileJob).
 */
import { realpath, stat as statPath } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';

import type { CommandSpec, JobConfig } from '../config/types.ts';

export type DuplicateJob = Pick<JobConfig, 'name' | 'command' | 'cwd'>;

/** Shells recognised in the exact `sh -c <script>` form. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);

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
