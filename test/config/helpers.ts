/** Shared helpers for the config tests. */

import { ConfigErrors, loadConfigText } from '../../src/config/index.ts';
import type { Env, ResolvedConfig } from '../../src/config/index.ts';

export const CONFIG_PATH = '/srv/app/nightshift.yaml';

/** Resolves `yaml` as if it were /srv/app/nightshift.yaml on host `vps`, pid 42. */
export function resolveYaml(yaml: string, env: Env = {}): ResolvedConfig {
  return loadConfigText(yaml, { configPath: CONFIG_PATH, env, hostname: 'vps', pid: 42 });
}

/** The formatted error lines `yaml` produces; throws if it loads, or fails with anything but ConfigErrors. */
export function errorLines(yaml: string, env: Env = {}): string[] {
  try {
    resolveYaml(yaml, env);
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors.map((e) => e.format());
    throw error;
  }
  throw new Error('expected the config to be rejected, but it loaded');
}

/** Dedents a template literal so YAML fixtures can be indented with the test code. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, part, index) => out + part + (index < values.length ? String(values[index]) : ''), '');
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)?.[0].length ?? 0));
  return lines.map((line) => line.slice(indent)).join('\n');
}
