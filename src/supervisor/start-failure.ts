/**
 * Start-failure diagnosis (seed 003: a launchd job failed 3,751 times because its PATH lacked the interpreter).
 * A command that cannot start is not a job that failed: retrying it changes nothing, so it must be told apart and
 * explained — what was not found, the PATH the job had, and where that program does exist on this host.
 *
 * Recognised, from the run's end and the first lines of its stderr:
 * - spawn() failed (ENOENT, EACCES): the runner already ended the run `failed` with `reason: start_failed`;
 * - exit 127 (the shell's "command not found") and 126 ("found but cannot execute");
 * - within the first second: a missing interpreter (`/usr/bin/env: 'python3': No such file or directory`, `bad
 *   interpreter`), and a missing library the program needs to start (Ruby's `cannot load such file`, Python's
 *   `No module named`, Node's `Cannot find module`).
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunEnd } from '../store/types.ts';

/** Only a failure this early can be a failure to start; later ones are the job's own. */
export const START_WINDOW_MS = 1000;

export interface StartFailure {
  /** What was missing or unusable: a command, an interpreter, a library. */
  what: string;
  kind: 'command' | 'interpreter' | 'library' | 'permission' | 'spawn';
  /** One line for the run's `error` and the incident's summary. */
  summary: string;
}

interface Pattern {
  re: RegExp;
  kind: StartFailure['kind'];
  /** Only trusted within START_WINDOW_MS (exit codes 126/127 are always start failures). */
  early?: boolean;
  describe: (match: RegExpMatchArray) => string;
}

const PATTERNS: Pattern[] = [
  { re: /bad interpreter: ([^:\n]+?)(?::|$)/m, kind: 'interpreter', describe: (m) => m[1]!.trim() },
  // GNU env quotes the name with ASCII or typographic quotes, depending on the locale.
  { re: /^\/usr\/bin\/env: ['‘]?([^'‘’:\s]+)['’]?: No such file or directory/m, kind: 'interpreter', describe: (m) => m[1]! },
  { re: /(?:^|: )(?:line \d+: )?([^\s:]+): (?:command )?not found$/m, kind: 'command', describe: (m) => m[1]! },
  { re: /cannot load such file -- (\S+)/, kind: 'library', early: true, describe: (m) => `Ruby library ${m[1]!}` },
  { re: /No module named '?([\w.]+)'?/, kind: 'library', early: true, describe: (m) => `Python module ${m[1]!}` },
  { re: /Cannot find module '([^']+)'/, kind: 'library', early: true, describe: (m) => `Node module ${m[1]!}` },
  { re: /([^\s:]+): Permission denied/, kind: 'permission', describe: (m) => m[1]! },
];

export function diagnoseStartFailure(end: Pick<RunEnd, 'status' | 'reason' | 'exit_code' | 'error'>, durationMs: number | null, stderr: readonly string[]): StartFailure | null {
  if (end.status !== 'failed') return null;
  if (end.reason === 'start_failed') {
    const spawnText = end.error ?? 'the command could not be started';
    const missing = /command '([^']+)' not found/.exec(spawnText)?.[1] ?? /'([^']+)' not found/.exec(spawnText)?.[1] ?? null;
    return { what: missing ?? 'the command', kind: 'spawn', summary: spawnText };
  }
  const text = stderr.join('\n');
  const early = durationMs !== null && durationMs < START_WINDOW_MS;
  const byCode = end.exit_code === 127 || end.exit_code === 126;
  if (!byCode && !early) return null;
  for (const pattern of PATTERNS) {
    if (pattern.early && !early) continue;
    const match = pattern.re.exec(text);
    if (!match) continue;
    // Without 126/127 a bare "not found" line could be the job's own message; the interpreter and library
    // patterns are specific enough on their own within the first second.
    if (!byCode && (pattern.kind === 'command' || pattern.kind === 'permission')) continue;
    const what = pattern.describe(match);
    return { what, kind: pattern.kind, summary: `${describeKind(pattern.kind, what)} (exit ${end.exit_code ?? '?'})` };
  }
  if (!byCode) return null;
  const what = end.exit_code === 127 ? 'a command' : 'the command';
  return { what, kind: end.exit_code === 127 ? 'command' : 'permission', summary: `exit ${end.exit_code}: ${end.exit_code === 127 ? 'a command was not found' : 'the command could not be executed'}` };
}

function describeKind(kind: StartFailure['kind'], what: string): string {
  switch (kind) {
    case 'interpreter':
      return `interpreter ${what} not found`;
    case 'command':
      return `command ${what} not found`;
    case 'library':
      return `${what} not found`;
    case 'permission':
      return `permission denied running ${what}`;
    case 'spawn':
      return what;
  }
}

/** Directories commonly holding programs that a service manager's short PATH misses (seed 003). */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/snap/bin', '/opt/homebrew/bin'];

/**
 * Where an executable of this name exists on the host: the daemon's PATH, the usual system directories, `bin`
 * under /opt/* and /usr/local/*, users' ~/.local/bin, and version managers' shims (pyenv, rbenv, nvm). Bounded:
 * only directories, no recursion beyond those patterns.
 */
export function findOnHost(program: string, daemonPath: string | undefined, root = '/'): string[] {
  const name = basename(program);
  if (!name || name.includes(' ')) return [];
  const dirs = new Set<string>([...(daemonPath ?? '').split(':').filter(Boolean), ...EXTRA_DIRS]);
  for (const base of ['/opt', '/usr/local']) for (const sub of list(join(root, base))) dirs.add(join(base, sub, 'bin'));
  for (const home of ['/root', ...list(join(root, '/home')).map((h) => join('/home', h))]) {
    for (const rel of ['.local/bin', '.pyenv/shims', '.rbenv/shims', 'bin', '.cargo/bin']) dirs.add(join(home, rel));
    for (const v of list(join(root, home, '.nvm/versions/node'))) dirs.add(join(home, '.nvm/versions/node', v, 'bin'));
  }
  const found: string[] = [];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(join(root, candidate), constants.X_OK);
      found.push(candidate);
    } catch {
      // not here
    }
  }
  return found;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
