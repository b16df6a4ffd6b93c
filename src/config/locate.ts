/**
 * Which config file a command uses. Apart from load.ts because it needs none of the config's heavy modules (zod,
 * yaml): `nightshift status` finds the file this way before it knows whether it must load it at all.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { ConfigError, ConfigErrors } from './errors.ts';
import type { Env } from './interpolate.ts';

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
