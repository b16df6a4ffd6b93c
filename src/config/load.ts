/**
 * Finding and loading nightshift.yaml. Synchronous on purpose: the file is read once at start and on reload, it is
 * small, and a sync API leaves callers no promise to forget.
 */

import { readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { ConfigError, ConfigErrors } from './errors.ts';
import type { Env } from './interpolate.ts';
import { parseConfigText } from './parse.ts';
import { resolveConfig } from './resolve.ts';
import type { ResolvedConfig } from './types.ts';

export const CONFIG_FILE_NAMES = ['nightshift.yaml', 'nightshift.yml'] as const;

export interface FindConfigOptions {
  /** `-c FILE`. */
  explicit?: string | undefined;
  /** Read for NIGHTSHIFT_CONFIG. */
  env: Env;
  cwd: string;
}

/**
 * The config file to use, absolute: `-c FILE`, else $NIGHTSHIFT_CONFIG, else ./nightshift.yaml, else
 * ./nightshift.yml. Throws ConfigErrors when the chosen file does not exist.
 */
export function findConfigPath(options: FindConfigOptions): string {
  const named = options.explicit ?? nonEmpty(options.env['NIGHTSHIFT_CONFIG']);
  if (named !== undefined) {
    const file = resolvePath(options.cwd, named);
    if (!isFile(file)) {
      const from = options.explicit !== undefined ? '-c' : 'NIGHTSHIFT_CONFIG';
      throw single(file, `no such file (named by ${from})`, `check the path, or create it with \`nightshift init ${dirname(file)}\``);
    }
    return file;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const file = resolvePath(options.cwd, name);
    if (isFile(file)) return file;
  }
  const dir = resolvePath(options.cwd);
  throw single(join(dir, CONFIG_FILE_NAMES[0]), `no nightshift.yaml in ${dir}`, 'create one with `nightshift init` or pass -c FILE');
}

export interface LoadConfigOptions {
  /** `-c FILE`. */
  explicit?: string | undefined;
  /** For ${VAR}, NIGHTSHIFT_CONFIG, NIGHTSHIFT_NODE, NIGHTSHIFT_DATABASE_URL; defaults to process.env. */
  env?: Env;
  cwd?: string;
  hostname?: string;
  pid?: number;
}

/** Finds, reads, validates and resolves the config. Throws ConfigErrors (one line per problem). */
export function loadConfig(options: LoadConfigOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const configPath = findConfigPath({ explicit: options.explicit, env, cwd: options.cwd ?? process.cwd() });
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw single(configPath, `cannot read the file (${reason})`, 'check that the user running nightshift may read it');
  }
  return loadConfigText(text, { configPath, env, hostname: options.hostname, pid: options.pid });
}

/** The same as loadConfig for text already in hand (tests, `nightshift validate` on stdin). */
export function loadConfigText(
  text: string,
  options: { configPath: string; env: Env; hostname?: string | undefined; pid?: number | undefined },
): ResolvedConfig {
  const configPath = resolvePath(options.configPath);
  const parsed = parseConfigText(text, { file: configPath, env: options.env });
  return resolveConfig(parsed, {
    configPath,
    env: options.env,
    hostname: options.hostname ?? osHostname(),
    pid: options.pid ?? process.pid,
  });
}

function single(file: string, problem: string, fix: string): ConfigErrors {
  return new ConfigErrors([new ConfigError({ file, line: null, column: null, path: '', problem, fix })]);
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
