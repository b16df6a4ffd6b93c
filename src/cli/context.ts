import type { Command } from 'commander';
import type { ResolvedConfig } from '../config/types.ts';
import { loadConfig, ConfigErrors } from '../config/index.ts';
import { CliError, EXIT_USAGE, unknownJobError } from './errors.ts';

/** The `-c FILE` given before or after the command name. */
export function configFlag(command: Command): string | undefined {
  const value = command.optsWithGlobals<{ config?: string }>().config;
  return typeof value === 'string' ? value : undefined;
}

/** Loads the config for a command; config errors become one line each on stderr and exit code 2. */
export async function loadCliConfig(command: Command): Promise<ResolvedConfig> {
  try {
    return await loadConfig({ explicit: configFlag(command), env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigErrors) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
}

export function requireJob(config: ResolvedConfig, name: string): void {
  if (!config.jobs[name]) throw unknownJobError(name, Object.keys(config.jobs));
}
