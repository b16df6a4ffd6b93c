import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Env } from './interpolate.ts';
import { resolveConfig } from './resolve.ts';
import { resolveJob } from './resolve-job.ts';
import type { JobInput } from './schema/job.ts';
import type { JobConfig, ResolvedConfig } from './types.ts';

/**
 * A job with every default and a placeholder command, for `nightshift exec --job NAME` when NAME is not in the
 * config (the run is recorded under that name; the command comes from exec's own arguments).
 */
export function defaultJob(name: string, configDir: string): JobConfig {
  const input: JobInput = { command: { kind: 'argv', argv: ['true'] } };
  return resolveJob(name, input, configDir);
}

/**
 * The config of an empty file in `dir`: every default, no jobs. `nightshift exec` uses it when a crontab line runs
 * with no nightshift.yaml at all, so the state still goes where a config there would put it.
 */
export function defaultConfig(dir: string, env: Env): ResolvedConfig {
  return resolveConfig({}, { configPath: join(dir, 'nightshift.yaml'), env, hostname: hostname(), pid: process.pid });
}
