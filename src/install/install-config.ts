/**
 * Loads the config for `nightshift install`, which often runs where the config's `${VAR}`s are not set (a root shell
 * before the unit's EnvironmentFile exists): required variables that are unset load as empty, and are reported so
 * the user knows what to put in that file.
 */
import { readFileSync } from 'node:fs';
import { findConfigPath, loadConfigText } from '../config/index.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { referencedVariables, withPlaceholders } from './config-env.ts';

export interface InstallConfig {
  config: ResolvedConfig;
  /** Every `${VAR}` the file reads. */
  variables: string[];
  /** Those required and not set in this environment. */
  unset: string[];
}

/** Throws ConfigErrors as loadConfig does. */
export function loadInstallConfig(options: { explicit: string | undefined; env: NodeJS.ProcessEnv; cwd: string }): InstallConfig {
  const configPath = findConfigPath(options);
  const text = readFileSync(configPath, 'utf8');
  const variables = referencedVariables(text);
  const { env, unset } = withPlaceholders(options.env, variables);
  const config = loadConfigText(text, { configPath, env });
  return { config, variables: variables.map((v) => v.name), unset };
}
