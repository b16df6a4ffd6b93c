import type { Command } from 'commander';
import type { ResolvedConfig } from '../config/types.ts';
// Not from config/index.ts, which loads zod and yaml: `up` loads the config in a worker so that the daemon's heap
// never holds them (config/load-isolated.ts); the other commands import the loader when they load the config.
import { ConfigErrors } from '../config/errors.ts';
import { configError, unknownJobError } from './errors.ts';

/** The `-c FILE` given before or after the command name. */
export function configFlag(command: Command): string | undefined {
  const value = command.optsWithGlobals<{ config?: string }>().config;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Loads the config for a command; config errors become one line each on stderr and exit code 2. `isolated`: in a
 * worker thread (for the daemon, see config/load-isolated.ts).
 */
export async function loadCliConfig(command: Command, opts: { isolated?: boolean } = {}): Promise<ResolvedConfig> {
  const options = { explicit: configFlag(command), env: process.env, cwd: process.cwd() };
  try {
    if (opts.isolated) return await (await import('../config/load-isolated.ts')).loadConfigIsolated(options);
    return (await import('../config/load.ts')).loadConfig(options);
  } catch (error) {
    if (ConfigErrors.is(error)) throw configError(error.message);
    throw error;
  }
}

export function requireJob(config: ResolvedConfig, name: string): void {
  if (!config.jobs[name]) throw unknownJobError(name, Object.keys(config.jobs));
}

/**
 * For commands that read what was recorded (history, logs): a configured job, or a name that has records —
 * `nightshift exec --job NAME` records runs under names the config need not have.
 */
export async function requireRecordedJob(config: ResolvedConfig, name: string, hasRecords: () => Promise<boolean>): Promise<void> {
  if (config.jobs[name] || (await hasRecords())) return;
  throw unknownJobError(name, Object.keys(config.jobs));
}
