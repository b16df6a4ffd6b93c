import { resolve as resolvePath } from 'node:path';
import { DEFAULTS } from './defaults.ts';
import { resolveJob } from './resolve-job.ts';
import type { JobInput } from './schema/job.ts';
import type { JobConfig } from './types.ts';

/**
 * A job with every default and a placeholder command, for `nightshift exec --job NAME` when NAME is not in the
 * config (the run is recorded under that name; the command comes from exec's own arguments).
 */
export function defaultJob(name: string, configDir: string): JobConfig {
  const input: JobInput = { command: { kind: 'argv', argv: ['true'] } };
  return resolveJob(name, input, configDir);
}

/** Where state lives when there is no config file at all (`nightshift exec` from a bare crontab line). */
export function defaultStateDir(dir: string): string {
  return resolvePath(dir, DEFAULTS.state_dir);
}
