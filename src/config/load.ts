/**
 * Finding and loading nightshift.yaml. Synchronous on purpose: the file is read once at start and on reload, it is
 * small, and a sync API leaves callers no promise to forget.
 */

import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { ConfigError, ConfigErrors } from './errors.ts';
import type { Env } from './interpolate.ts';
import { findConfigPath } from './locate.ts';
import { parseConfigText } from './parse.ts';
import { resolveConfig } from './resolve.ts';
import type { ResolvedConfig } from './types.ts';

export { CONFIG_FILE_NAMES, findConfigPath, type FindConfigOptions } from './locate.ts';

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
