/**
 * Mutation fuzzing: hundreds of random damages to valid configs must each either load or fail with ConfigErrors whose
 * every line starts with `file:line:column:` — never a crash, a stack trace or a message without a place. The PRNG is
 * seeded, so a failure names the iteration and reproduces exactly.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../src/config/index.ts';
import { CONFIG_PATH, resolveYaml } from './helpers.ts';

const DESIGN_EXAMPLE = readFileSync(new URL('../fixtures/config/good/design-example.yaml', import.meta.url), 'utf8');
const CHANNELS_EXAMPLE = readFileSync(new URL('../fixtures/config/good/every-channel.yaml', import.meta.url), 'utf8');
const ENV = { NIGHTSHIFT_TOKEN: 'secret-token', PING_KEY: 'ping-key', SLACK_URL: 'https://hooks.slack.com/x' };
const ITERATIONS = 600;
const SEED = 20_240_601;

/** mulberry32: small, fast, and good enough to pick mutations. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NOISE = [':', '{', '}', '[', ']', ',', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '-', '?', ' ', '\t', '\n', '$', '${', '$${X}', '${UNSET}', 'x', '0', '.', '\\', '<<', '~', 'é', '\u0000'];
const VALUES = ['[a, b]', '{ x: 1 }', '42', '-1', 'true', '""', '~', '', '1.5', '0s', '10%', '5G', '10/1h', 'null', '*anchor', '&anchor v', '!!int 3', '|\n  block\n  text', '"0 * * * *"', 'Europe/Berlin'];

type Mutation = (lines: string[], random: () => number) => void;

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)] as T;
const lineIndex = (lines: string[], random: () => number) => Math.floor(random() * lines.length);
const valueOf = (line: string) => /:\s(.*)$/.exec(line)?.[1];

const MUTATIONS: Record<string, Mutation> = {
  deleteLine: (lines, random) => {
    lines.splice(lineIndex(lines, random), 1);
  },
  duplicateLine: (lines, random) => {
    const index = lineIndex(lines, random);
    lines.splice(index, 0, lines[index] ?? '');
  },
  insertNoise: (lines, random) => {
    const index = lineIndex(lines, random);
    const line = lines[index] ?? '';
    const at = Math.floor(random() * (line.length + 1));
    lines[index] = line.slice(0, at) + pick(NOISE, random) + line.slice(at);
  },
  deleteCharacters: (lines, random) => {
    const index = lineIndex(lines, random);
    const line = lines[index] ?? '';
    const at = Math.floor(random() * line.length);
    lines[index] = line.slice(0, at) + line.slice(at + 1 + Math.floor(random() * 3));
  },
  swapValues: (lines, random) => {
    const a = lineIndex(lines, random);
    const b = lineIndex(lines, random);
    const va = valueOf(lines[a] ?? '');
    const vb = valueOf(lines[b] ?? '');
    if (va === undefined || vb === undefined) return;
    lines[a] = (lines[a] ?? '').replace(/:\s.*$/, `: ${vb}`);
    lines[b] = (lines[b] ?? '').replace(/:\s.*$/, `: ${va}`);
  },
  changeType: (lines, random) => {
    const index = lineIndex(lines, random);
    if (valueOf(lines[index] ?? '') === undefined) return;
    lines[index] = (lines[index] ?? '').replace(/:\s.*$/, `: ${pick(VALUES, random)}`);
  },
  reindent: (lines, random) => {
    const index = lineIndex(lines, random);
    const line = lines[index] ?? '';
    lines[index] = random() < 0.5 ? `  ${line}` : line.replace(/^ {1,2}/, '');
  },
  renameKey: (lines, random) => {
    const index = lineIndex(lines, random);
    lines[index] = (lines[index] ?? '').replace(/^(\s*)(\w)(\w*)/, (_, indent: string, first: string, rest: string) => `${indent}${rest}${first}`);
  },
};

/** What a run of the fuzzer saw, so the test can also check it explored both outcomes. */
interface Outcome {
  iteration: number;
  mutations: string[];
  text: string;
  result: 'loaded' | 'rejected' | Error;
  badLines: string[];
}

function runOnce(base: string, iteration: number): Outcome {
  const random = prng(SEED + iteration);
  const lines = base.split('\n');
  const names = Object.keys(MUTATIONS);
  const mutations: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const name = pick(names, random);
    mutations.push(name);
    MUTATIONS[name]?.(lines, random);
  }
  const text = lines.join('\n');
  try {
    resolveYaml(text, ENV);
    return { iteration, mutations, text, result: 'loaded', badLines: [] };
  } catch (error) {
    if (!ConfigErrors.is(error)) return { iteration, mutations, text, result: error as Error, badLines: [] };
    const place = new RegExp(`^${CONFIG_PATH.replace(/[.]/g, '\\.')}:\\d+:\\d+: [^\\n]+; [^\\n]+$`);
    const badLines = error.errors.length === 0 ? ['(no errors)'] : error.errors.map((e) => e.format()).filter((line) => !place.test(line));
    return { iteration, mutations, text, result: 'rejected', badLines };
  }
}

describe.each([
  ['the DESIGN.md example', DESIGN_EXAMPLE],
  ['a config with every channel type', CHANNELS_EXAMPLE],
])('fuzzing %s', (_name, base) => {
  const outcomes = Array.from({ length: ITERATIONS / 2 }, (_, iteration) => runOnce(base, iteration));

  it('never throws anything but ConfigErrors', () => {
    const crashes = outcomes.filter((outcome) => outcome.result instanceof Error);
    expect(crashes.map((c) => `#${c.iteration} ${c.mutations.join('+')}: ${String(c.result)}\n${c.text}`)).toEqual([]);
  });

  it('places every error at file:line:column, on one line, with a fix', () => {
    const misplaced = outcomes.filter((outcome) => outcome.badLines.length > 0);
    expect(misplaced.map((m) => `#${m.iteration}: ${m.badLines.join(' | ')}`)).toEqual([]);
  });

  it('explores both outcomes', () => {
    expect(outcomes.filter((outcome) => outcome.result === 'loaded').length).toBeGreaterThan(20);
    expect(outcomes.filter((outcome) => outcome.result === 'rejected').length).toBeGreaterThan(100);
  });
});
