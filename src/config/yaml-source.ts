/**
 * Reads nightshift.yaml into a plain value plus a map from key paths to line:column, interpolating `${VAR}` in every
 * string scalar on the way (keys are never interpolated).
 *
 * The YAML is parsed with the failsafe schema, so every scalar arrives as the text the user wrote (`PORT: 8080` stays
 * "8080", `country: NO` stays "NO", `${LIMIT}` can fill a number field); the zod schema then reads numbers, booleans
 * and units out of that text, with messages of its own. An empty plain scalar (`timeout:`) is null.
 */

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar } from 'yaml';
import type { Document, Node, Pair, YAMLError } from 'yaml';
import { ConfigError, ConfigErrors, formatConfigPath } from './errors.ts';
import type { ConfigPath } from './errors.ts';
import { interpolate, InterpolationError } from './interpolate.ts';
import type { Env } from './interpolate.ts';
import { canProtect, protectReferences, restoreReferences } from './protect-references.ts';
import { yamlSyntaxErrors } from './yaml-syntax-errors.ts';

export interface SourcePosition {
  line: number;
  column: number;
}

export interface ConfigSource {
  file: string;
  /** The document as plain objects, lists, strings and nulls, after interpolation. */
  value: unknown;
  /** Where a key (or its value) starts; for a path not in the file, the nearest enclosing key that is. */
  locate(path: ConfigPath, part?: 'key' | 'value'): SourcePosition;
  /** The text as written before `${VAR}` interpolation, when interpolation changed it. */
  writtenAs(path: ConfigPath): string | undefined;
  /** A ConfigError placed at `path`. */
  error(path: ConfigPath, problem: string, fix: string, part?: 'key' | 'value'): ConfigError;
}

/** Beyond this many alias expansions the file is a "billion laughs" bomb, not a config. */
const MAX_ALIAS_EXPANSIONS = 10_000;

export function readConfigSource(text: string, options: { file: string; env: Env }): ConfigSource {
  const { file } = options;
  const protect = canProtect(text);
  const restore = protect ? restoreReferences : (value: string) => value;
  const lineCounter = new LineCounter();
  const doc = parseDocument(protect ? protectReferences(text) : text, {
    lineCounter,
    schema: 'failsafe',
    prettyErrors: false,
    uniqueKeys: true,
  });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const at = (offset: number, path: ConfigPath, problem: string, fix: string): ConfigError =>
    new ConfigError({ file, ...position(offset), path: formatConfigPath(path), problem, fix });

  if (doc.errors.length > 0) {
    const placeAt = (offset: number, problem: string, fix: string) => at(offset, [], problem, fix);
    throw new ConfigErrors(yamlSyntaxErrors(doc.errors as YAMLError[], text, restore, placeAt));
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.type === Scalar.PLAIN && doc.contents.value === '')) {
    const fix = 'add a jobs: section (see docs/configuration.md) or run `nightshift init` to write a starter file';
    throw new ConfigErrors([at(0, [], 'the file is empty, so there is nothing to run', fix)]);
  }

  const walker = new Walker(doc, options.env, restore, at);
  const value = walker.convert(doc.contents, [], undefined);
  if (walker.errors.length > 0) throw new ConfigErrors(walker.errors);

  const locate = (path: ConfigPath, part: 'key' | 'value' = 'value'): SourcePosition => {
    for (let length = path.length; length >= 0; length--) {
      const entry = walker.entries.get(pathKey(path.slice(0, length)));
      if (entry === undefined) continue;
      const exact = length === path.length;
      const offset = exact && part === 'value' ? entry.value : (entry.key ?? entry.value);
      return position(offset);
    }
    return { line: 1, column: 1 };
  };
  return {
    file,
    value,
    locate,
    writtenAs: (path) => walker.written.get(pathKey(path)),
    error: (path, problem, fix, part = 'value') =>
      new ConfigError({ file, ...locate(path, part), path: formatConfigPath(path), problem, fix }),
  };
}

type PlaceError = (offset: number, path: ConfigPath, problem: string, fix: string) => ConfigError;

function pathKey(path: ConfigPath): string {
  return path.map(String).join('\u0000');
}

class Walker {
  readonly entries = new Map<string, { key: number | undefined; value: number }>();
  readonly written = new Map<string, string>();
  readonly errors: ConfigError[] = [];
  private aliasExpansions = 0;
  private readonly active = new Set<unknown>();
  private readonly doc: Document;
  private readonly env: Env;
  private readonly restore: (text: string) => string;
  private readonly at: PlaceError;

  constructor(doc: Document, env: Env, restore: (text: string) => string, at: PlaceError) {
    this.doc = doc;
    this.env = env;
    this.restore = restore;
    this.at = at;
  }

  /** Converts `node` found at `path`; `keyOffset` is where its key starts (undefined for the root and list items). */
  convert(node: unknown, path: ConfigPath, keyOffset: number | undefined): unknown {
    const offset = startOf(node) ?? keyOffset ?? 0;
    this.entries.set(pathKey(path), { key: keyOffset, value: offset });
    return this.convertNode(node, path, offset);
  }

  private convertNode(node: unknown, path: ConfigPath, offset: number): unknown {
    if (isAlias(node)) return this.expandAlias(node.source, node.resolve(this.doc), path, offset);
    if (isScalar(node)) return this.convertScalar(node, path, offset);
    if (isSeq(node)) return node.items.map((item, index) => this.convert(item, [...path, index], undefined));
    if (isMap(node)) {
      const object: Record<string, unknown> = {};
      this.addPairs(object, node.items as Pair[], path, false);
      return object;
    }
    return null;
  }

  private expandAlias(name: string, target: Node | undefined, path: ConfigPath, offset: number): unknown {
    if (target === undefined) {
      this.errors.push(this.at(offset, path, `alias *${name} has no anchor`, `define &${name} on a value above this line, or remove the *`));
      return null;
    }
    if (this.active.has(target) || ++this.aliasExpansions > MAX_ALIAS_EXPANSIONS) {
      this.errors.push(this.at(offset, path, `alias *${name} refers to itself or expands too often`, 'copy the value here instead of using an alias'));
      return null;
    }
    this.active.add(target);
    const value = this.convertNode(target, path, startOf(target) ?? offset);
    this.active.delete(target);
    return value;
  }

  private convertScalar(node: Scalar, path: ConfigPath, offset: number): string | null {
    const raw = typeof node.value === 'string' ? node.value : String(node.value ?? '');
    if (node.type === Scalar.PLAIN && raw === '') return null;
    const text = this.restore(raw);
    try {
      const value = interpolate(text, this.env);
      if (value !== text) this.written.set(pathKey(path), text);
      return value;
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      this.errors.push(this.at(offset, path, error.problem, error.fix));
      return null;
    }
  }

  /** Copies pairs into `object`; with `onlyMissing`, for `<<: *base` merges, keys already set win. */
  private addPairs(object: Record<string, unknown>, pairs: readonly Pair[], path: ConfigPath, onlyMissing: boolean): void {
    const merges: { source: unknown; offset: number }[] = [];
    for (const pair of pairs) {
      const keyOffset = startOf(pair.key) ?? startOf(pair.value) ?? 0;
      if (!isScalar(pair.key) || typeof pair.key.value !== 'string' || pair.key.value === '') {
        this.errors.push(this.at(keyOffset, path, 'this key is not a plain name', 'write keys as plain words like timeout: (no lists, mappings or empty keys)'));
        continue;
      }
      const key = this.restore(pair.key.value);
      if (key === '<<' && pair.key.type === Scalar.PLAIN) {
        merges.push({ source: pair.value, offset: keyOffset });
        continue;
      }
      if (onlyMissing && Object.hasOwn(object, key)) continue;
      // defineProperty, not assignment: a key named __proto__ must stay a key.
      Object.defineProperty(object, key, {
        value: this.convert(pair.value, [...path, key], keyOffset),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    for (const merge of merges) this.merge(object, merge.source, path, merge.offset);
  }

  private merge(object: Record<string, unknown>, source: unknown, path: ConfigPath, offset: number): void {
    const sources = isSeq(source) ? source.items : [source];
    for (const item of sources) {
      const target = isAlias(item) ? item.resolve(this.doc) : item;
      if (!isMap(target) || this.active.has(target)) {
        this.errors.push(this.at(startOf(item) ?? offset, [...path, '<<'], '<< must merge a mapping', 'write <<: *name where &name marks a mapping'));
        continue;
      }
      this.active.add(target);
      this.addPairs(object, target.items as Pair[], path, true);
      this.active.delete(target);
    }
  }
}

function startOf(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: unknown }).range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}
