/**
 * nightshift.yaml text → a validated, typed config (units parsed, defaults NOT yet applied).
 *
 * Errors are reported in phases, each complete: YAML syntax, then `${VAR}` interpolation, then the schema (types,
 * units, unknown keys), then the checks across keys (references, consistency). A later phase runs only when the
 * earlier ones found nothing, because it would mostly report consequences of the first mistakes.
 *
 * Top-level keys starting with `x-` are ignored (as in docker-compose), so that shared settings can be written once
 * as a YAML anchor (`x-defaults: &defaults { … }`) and merged into jobs with `<<: *defaults`.
 */

import { checkConsistency } from './check-consistency.ts';
import { checkReferences } from './check-references.ts';
import { ConfigErrors } from './errors.ts';
import type { Env } from './interpolate.ts';
import { issuesToErrors } from './issues.ts';
import { configSchema } from './schema.ts';
import type { ConfigInput } from './schema.ts';
import { readConfigSource } from './yaml-source.ts';

export interface ParseConfigOptions {
  /** Shown in every error; normally the absolute path of the file. */
  file: string;
  /** For `${VAR}` interpolation. */
  env: Env;
}

/** Throws ConfigErrors listing everything wrong with the text. */
export function parseConfigText(text: string, options: ParseConfigOptions): ConfigInput {
  const source = readConfigSource(text, options);
  const parsed = configSchema.safeParse(withoutExtensionKeys(source.value));
  if (!parsed.success) {
    const errors = issuesToErrors(parsed.error.issues, source, configSchema);
    // Every zod issue maps to at least one error; this guard keeps a future gap from passing a bad config.
    if (errors.length === 0) errors.push(source.error([], 'the config does not match the schema', 'compare it with docs/config.md'));
    throw new ConfigErrors(errors);
  }
  const errors = [...checkReferences(parsed.data, source), ...checkConsistency(parsed.data, source)];
  if (errors.length > 0) throw new ConfigErrors(errors);
  return parsed.data;
}

function withoutExtensionKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('x-')));
}
