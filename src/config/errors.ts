/**
 * Errors in a config file, each one a single line a tired engineer can act on:
 *
 *   <file>:<line>:<column>: <key path>: <problem>; <fix>
 *
 * e.g. `/srv/app/nightshift.yaml:14:14: jobs.scan.timeout: '10 minutes' is not a duration; write it like 500ms, 30s,
 * 10m, 2h or 1d`. The key path is left out when an error belongs to no key (a YAML syntax error, an empty file); the
 * line and column are left out only when the error is not inside a file at all (no config file found).
 */

/** A key path as zod and the YAML walker see it: map keys are strings, list positions are numbers. */
export type ConfigPath = readonly (string | number)[];

export interface ConfigErrorInit {
  file: string;
  /** 1-based; null only when the error has no place in a file (the file is missing). */
  line: number | null;
  column: number | null;
  /** Dotted key path such as `jobs.scan.timeout`; '' when the error belongs to no key. */
  path: string;
  problem: string;
  fix: string;
}

const CONFIG_ERRORS_BRAND = Symbol.for('nightshift.ConfigErrors');

export class ConfigError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly path: string;
  readonly problem: string;
  readonly fix: string;

  constructor(init: ConfigErrorInit) {
    super(formatErrorLine(init));
    this.name = 'ConfigError';
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.path = init.path;
    this.problem = init.problem;
    this.fix = init.fix;
  }

  /** The one-line form: `<file>:<line>:<column>: <path>: <problem>; <fix>`. */
  format(): string {
    return formatErrorLine(this);
  }
}

/**
 * Every error found in one pass over a config file, in file order. `loadConfig` always throws this aggregate (with
 * one or more errors) so callers have one thing to catch; `format()` prints one error per line.
 */
export class ConfigErrors extends Error {
  readonly errors: readonly ConfigError[];

  constructor(errors: readonly ConfigError[]) {
    const sorted = sortByPosition(errors);
    super(sorted.map((error) => error.format()).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = sorted;
    Object.defineProperty(this, CONFIG_ERRORS_BRAND, { value: true });
  }

  /** Works across module copies and realms, where `instanceof` does not. */
  static is(value: unknown): value is ConfigErrors {
    return typeof value === 'object' && value !== null && CONFIG_ERRORS_BRAND in value;
  }

  format(): string {
    return this.message;
  }
}

export function formatErrorLine(error: ConfigErrorInit): string {
  const where = error.line === null ? error.file : `${error.file}:${error.line}:${error.column ?? 1}`;
  const subject = error.path === '' ? '' : `${oneLine(error.path)}: `;
  return `${where}: ${subject}${oneLine(error.problem)}; ${oneLine(error.fix)}`;
}

/** Values quoted in a message may hold line breaks (a block scalar); the error must stay on one line. */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t');
}

/** `['jobs', 'scan', 'command', 0]` → `jobs.scan.command[0]`; a key that is not a plain name is bracketed. */
export function formatConfigPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

function sortByPosition(errors: readonly ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
