/**
 * Turns the YAML parser's errors into ConfigErrors with a fix. One syntax mistake usually makes the parser report a
 * cascade of follow-on errors, so only the first is kept; duplicate keys are independent, so all of them are kept.
 */

import type { ErrorCode, YAMLError } from 'yaml';
import type { ConfigError } from './errors.ts';

type PlaceAt = (offset: number, problem: string, fix: string) => ConfigError;

const GENERIC_FIX = 'check the indentation and quoting on this line: quote values that contain : # { } [ ] or ,';

const FIXES: Partial<Record<ErrorCode, string>> = {
  TAB_AS_INDENT: 'indent with spaces',
  BAD_INDENT: 'check the indentation: the keys of one mapping line up, and every { or [ is closed',
  MULTIPLE_DOCS: 'remove the extra --- line: nightshift.yaml holds one document',
  MISSING_CHAR: 'add the missing closing quote or bracket',
  BAD_DQ_ESCAPE: 'in "double quotes" write a backslash as \\\\, or use \'single quotes\'',
  MULTILINE_IMPLICIT_KEY: 'put the key and its colon on one line, and check for a missing closing quote above',
  BLOCK_AS_IMPLICIT_KEY: 'put the key and its colon on one line, and check for a missing closing quote above',
  KEY_OVER_1024_CHARS: 'check for a missing colon or closing quote above',
};

export function yamlSyntaxErrors(errors: readonly YAMLError[], source: string, restore: (text: string) => string, at: PlaceAt): ConfigError[] {
  const duplicates = errors.filter((error) => error.code === 'DUPLICATE_KEY');
  const first = errors.find((error) => error.code !== 'DUPLICATE_KEY');
  if (first === undefined) {
    return duplicates.map((error) => {
      const key = restore(/^("[^"\n]*"|'[^'\n]*'|[^:\n]*)/.exec(source.slice(error.pos[0]))?.[1] ?? '').trim();
      return at(error.pos[0], `duplicate key '${key}'`, 'a key may appear only once in the same mapping: remove or rename one of them');
    });
  }
  if (source[first.pos[0]] === '*') {
    const line = source.slice(first.pos[0]).split('\n')[0]?.replace(/\s+#.*$/, '').trim() ?? '*';
    return [at(first.pos[0], 'YAML reads a value starting with * as an alias', `put it in quotes, like "${line}"`)];
  }
  const message = restore(first.message.split('\n')[0] ?? '').replace(/;/g, ',').replace(/\.$/, '');
  return [at(first.pos[0], `YAML syntax error: ${message}`, FIXES[first.code] ?? GENERIC_FIX)];
}
