/**
 * The docs say what the code does: docs/config.md is exactly what the schema renders, it names every key, and the
 * examples and error lines in docs/configuration.md are real.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema, renderConfigReference } from '../../src/config/index.ts';
import { errorLines, resolveYaml } from './helpers.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The fenced blocks of a Markdown file, by language ('' for plain). */
function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((match) => match[1] === language).map((match) => match[2] ?? '');
}

describe('docs/config.md', () => {
  const reference = renderConfigReference();

  it('is what scripts/gen-config-docs.mjs generates (run npm run docs:config after changing the schema)', () => {
    expect(read('docs/config.md')).toBe(reference);
  });

  it('documents every top-level key and every job key', () => {
    for (const key of Object.keys(configSchema.shape)) expect(reference).toContain(`| \`${key}\` |`);
    const jobKeys = ['command', 'cwd', 'env_file', 'timeout', 'kill_grace', 'retries.budget', 'heartbeat.alert', 'breaker.group', 'after.on_stale', 'crash_loop.failures'];
    for (const key of jobKeys) expect(reference).toContain(`| \`jobs.<name>.${key}\` |`);
  });

  it('gives every key a type and a description', () => {
    const rows = reference.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(90);
    for (const row of rows) {
      const [, key, type, , description] = row.split(/(?<!\\)\|/).map((cell) => cell.trim());
      expect(type, key).not.toBe('');
      expect(description, key).not.toBe('');
    }
  });
});

describe('docs/configuration.md', () => {
  const guide = read('docs/configuration.md');
  const [anchors, complete, bad] = codeBlocks(guide, 'yaml');
  const [firstErrors, laterErrors, missingFile] = codeBlocks(guide, '');

  it('shows examples that load', () => {
    expect(resolveYaml(anchors ?? '').jobs['report']).toMatchObject({ timeoutMs: 60_000, retries: { max: 2, backoffMs: 30_000 } });
    const config = resolveYaml(complete ?? '', { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/x' });
    expect(Object.keys(config.jobs)).toEqual(['scan', 'writer', 'chat']);
    expect(config.http.token).toBeNull();
  });

  it('shows the error lines validate really prints, stage by stage', () => {
    expect(bad).toBe(read('test/fixtures/config/bad/guide-example.yaml'));
    expect(errorLines(bad ?? '')).toEqual(firstErrors?.trim().split('\n'));
    const fixed = (bad ?? '').replace('10 minutes', '10m').replace('timout', 'max_runtime');
    expect(errorLines(fixed)).toEqual(laterErrors?.trim().split('\n'));
    expect(missingFile).toContain('no nightshift.yaml in /srv/app; create one with `nightshift init` or pass -c FILE');
  });
});
