/**
 * Turns zod's issues into ConfigErrors placed at the key or value they concern, each with a fix. Most leaves raise
 * issues of our own (problem + fix, see schema/scalar.ts); this module handles the rest: unknown keys, missing keys,
 * a mapping where text belongs (and the reverse), unknown channel types, and shorthands (`retries: 3` or a mapping).
 */

import type * as z from 'zod';
import type { ConfigError, ConfigPath } from './errors.ts';
import { CHANNEL_TYPES } from './schema/channels.ts';
import { metaOf } from './schema/field.ts';
import type { IssueParams } from './schema/scalar.ts';
import { describeInput, withArticle } from './schema/scalar.ts';
import { keysAt, schemaAt, valueAt } from './schema/walk.ts';
import type { ConfigSource } from './yaml-source.ts';
import { listNames, suggestion } from './suggest.ts';

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

export function issuesToErrors(issues: readonly Issue[], source: ConfigSource, root: Schema): ConfigError[] {
  const convert = (issue: Issue, prefix: ConfigPath): ConfigError[] => {
    const path: ConfigPath = [...prefix, ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))];
    const input = valueAt(source.value, path);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => unknownKey([...path, key], key));
      case 'invalid_union':
        if ('discriminator' in issue && typeof issue.discriminator === 'string') return [channelType(path)];
        return union(issue.errors, path, input);
      case 'custom':
        if (input === undefined && path.length > 0) return [missingKey(path)];
        return [source.error(path, withOrigin(issue.message, path), paramsOf(issue)?.fix ?? 'see docs/config.md')];
      case 'invalid_type':
        if (input === undefined && path.length > 0) return [missingKey(path)];
        return [wrongKind(path, input)];
      default:
        return [source.error(path, withOrigin(issue.message.replace(/;/g, ','), path), 'see docs/config.md for this key')];
    }
  };

  const unknownKey = (path: ConfigPath, key: string): ConfigError => {
    const valid = keysAt(root, path.slice(0, -1), source.value);
    const fix = suggestion(key, valid, valid.length > 0 ? `valid keys here: ${listNames(valid)}` : 'remove it');
    return source.error(path, `unknown key '${key}'`, fix, 'key');
  };

  const missingKey = (path: ConfigPath): ConfigError => {
    const parent = path.slice(0, -1);
    const key = String(path[path.length - 1]);
    const example = exampleAt(path) ?? `${key}: …`;
    return source.error(parent, `missing required key '${key}'`, `add ${example}`, 'key');
  };

  const wrongKind = (path: ConfigPath, input: unknown): ConfigError => {
    if (path.length === 0) {
      return source.error(path, `the file must be a mapping of keys like project: and jobs:, not ${describeInput(input)}`, 'start each top-level line with a key, like jobs:');
    }
    const meta = metaOf(schemaAt(root, path, source.value));
    const example = exampleAt(path);
    const how = example === undefined ? 'write key: value lines indented under it' : `write it like ${example}`;
    if (input === null) return source.error(path, 'has no value', `${how}, or delete the line`);
    return source.error(path, `expected ${withArticle(meta.type ?? 'mapping')}, got ${describeInput(input)}`, how);
  };

  /** A shorthand failed: report the errors of the form the user evidently meant (by kind of value). */
  const union = (branches: readonly (readonly Issue[])[], path: ConfigPath, input: unknown): ConfigError[] => {
    const meant = branches.find((issues) => !issues.every((issue) => issue.path.length === 0 && isWrongKind(issue)));
    if (meant !== undefined) return meant.flatMap((issue) => convert(issue, path));
    const meta = metaOf(schemaAt(root, path, source.value));
    const how = meta.example === undefined ? 'see docs/config.md' : `write it like ${meta.example}`;
    if (input === null) return [source.error(path, 'has no value', `${how}, or delete the line`)];
    return [source.error(path, `expected ${withArticle(meta.type ?? 'other value')}, got ${describeInput(input)}`, how)];
  };

  const channelType = (path: ConfigPath): ConfigError => {
    const type = valueAt(source.value, path);
    const types = `${CHANNEL_TYPES.join(' | ')}`;
    if (type === undefined) return source.error(path.slice(0, -1), "missing required key 'type'", `add type: with one of ${types}`, 'key');
    if (typeof type !== 'string') return source.error(path, `expected a channel type, got ${describeInput(type)}`, `write one of ${types}`);
    return source.error(path, `unknown channel type '${type}'`, suggestion(type, CHANNEL_TYPES, `write one of ${types}`));
  };

  const exampleAt = (path: ConfigPath): string | undefined => {
    return metaOf(schemaAt(root, path, source.value)).example;
  };

  /** `'abc' is not a duration (from '${TIMEOUT}')`: the value came from the environment, not the file. */
  const withOrigin = (problem: string, path: ConfigPath): string => {
    const written = source.writtenAs(path);
    return written === undefined ? problem : `${problem} (from '${written}')`;
  };

  return issues.flatMap((issue) => convert(issue, []));
}

function paramsOf(issue: Issue): IssueParams | undefined {
  const params = (issue as { params?: unknown }).params;
  return typeof params === 'object' && params !== null && 'fix' in params ? (params as IssueParams) : undefined;
}

function isWrongKind(issue: Issue): boolean {
  return issue.code === 'invalid_type' || (issue.code === 'custom' && paramsOf(issue)?.wrongKind === true);
}
