import type { Command } from 'commander';
import type { ResolvedConfig } from '../config/types.ts';
import { loadConfig, ConfigErrors } from '../config/index.ts';
import { configError, unknownJobError } from './errors.ts';

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
    if (error instanceof ConfigErrors) throw configError(error.message);
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
