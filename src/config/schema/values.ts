/**
 * The kinds of value nightshift.yaml holds, as zod schemas with our own messages: numbers, booleans, choices, units,
 * commands, URLs, lists. Each names its kind for the docs through `meta({ type })`.
 */

import * as z from 'zod';
import type { CommandSpec } from '../types.ts';
import { readCron, readTimeZone } from '../cron.ts';
import { readListen } from '../listen.ts';
import { suggestion } from '../suggest.ts';
import {
  DURATION_FIX,
  formatDuration,
  formatSize,
  parseDuration,
  parsePercent,
  parsePercentOrSize,
  parseRate,
  parseSize,
  PERCENT_FIX,
  RATE_FIX,
  SIZE_FIX,
} from '../units.ts';
import { addProblem, invalid, scalar, wrongKind } from './scalar.ts';
import type { IssueParams, ScalarKind } from './scalar.ts';

export const text = () => scalar({ type: 'text', fix: 'write it as text, in quotes if it contains : or #' }, (value) => value);

export function integer(options: { min: number; example: string }) {
  const fix = `write a whole number like ${options.example}`;
  return scalar({ type: 'whole number', fix }, (value) => {
    const trimmed = value.trim();
    if (!/^[-+]?\d[\d_]*$/.test(trimmed)) invalid(`'${trimmed}' is not a whole number`, fix);
    const number = Number(trimmed.replace(/_/g, ''));
    if (!Number.isSafeInteger(number)) invalid(`${trimmed} is too large`, fix);
    if (number < options.min) invalid(`${number} is less than ${options.min}`, `write ${options.min} or more`);
    return number;
  });
}

/** A positive decimal such as a spend limit (`5.00`). */
export function positiveDecimal(example: string) {
  const fix = `write a number like ${example}`;
  return scalar({ type: 'number', fix }, (value) => {
    const trimmed = value.trim();
    if (!/^\d+(\.\d+)?$/.test(trimmed)) invalid(`'${trimmed}' is not a positive number`, fix);
    const number = Number(trimmed);
    if (number <= 0) invalid(`${trimmed} is not more than 0`, fix);
    return number;
  });
}

export const bool = () =>
  scalar({ type: 'boolean', fix: 'write true or false' }, (value) => {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    return invalid(`'${value}' is not true or false`, 'write true or false');
  });

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const listed = values.join(' | ');
  return scalar({ type: listed, fix: `write one of ${listed}` }, (value): T[number] => {
    const trimmed = value.trim();
    if ((values as readonly string[]).includes(trimmed)) return trimmed;
    return invalid(`'${trimmed}' is not one of ${listed}`, suggestion(trimmed, values, `write one of ${listed}`));
  });
}

export interface DurationOptions {
  /** The smallest value allowed, in ms (default 1: any positive duration). */
  min?: number;
  /** Why the floor exists, shown in the fix. */
  why?: string;
}

export function duration(options: DurationOptions = {}) {
  const min = options.min ?? 1;
  return scalar({ type: 'duration', fix: DURATION_FIX }, (value) => {
    const ms = parseDuration(value);
    if (ms < min) {
      if (ms === 0 && min <= 1) invalid(`'${value.trim()}' is zero`, 'write a duration above zero, like 30s');
      invalid(`'${value.trim()}' is below the ${formatDuration(min)} floor`, `write ${formatDuration(min)} or more${options.why ? ` (${options.why})` : ''}`);
    }
    return ms;
  });
}

/** Durations that may be zero (`kill_grace: 0s` kills at once). */
export const durationOrZero = () => duration({ min: 0 });

export function size(options: { min?: number } = {}) {
  const min = options.min ?? 0;
  return scalar({ type: 'size', fix: SIZE_FIX }, (value) => {
    const bytes = parseSize(value);
    if (bytes < min) {
      const bare = /^\s*\d+\s*$/.test(value) ? ` (a bare number is bytes: did you mean ${value.trim()}M?)` : '';
      invalid(`'${value.trim()}' is below the minimum of ${formatSize(min)}`, `write ${formatSize(min)} or more${bare}`);
    }
    return bytes;
  });
}

export const rate = () => scalar({ type: 'rate', fix: RATE_FIX }, parseRate);

export function percent(options: { max: number }) {
  return scalar({ type: 'percent', fix: PERCENT_FIX }, (value) => {
    const number = parsePercent(value);
    if (number <= 0 || number > options.max) invalid(`'${value.trim()}' is out of range`, `write a percent above 0% and at most ${options.max}%`);
    return number;
  });
}

export const percentOrSize = () => scalar({ type: 'percent or size', fix: 'write it like 10% or 5G' }, parsePercentOrSize);

export const listen = () => scalar({ type: 'host:port', fix: 'write host:port like 127.0.0.1:8377' }, readListen);

export const cronSchedule = () => scalar({ type: 'cron', fix: 'write a cron schedule like "0 * * * *"' }, readCron);

export const timeZone = () => scalar({ type: 'time zone', fix: 'write an IANA zone name like Europe/Berlin or UTC' }, readTimeZone);

/** Never echoes the value: webhook URLs carry their secret in the path. */
export const httpUrl = () =>
  scalar({ type: 'URL', fix: 'write a full URL like https://example.com/hook' }, (value) => {
    const trimmed = value.trim();
    let url: URL | undefined;
    try {
      url = new URL(trimmed);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      invalid('this is not an http:// or https:// URL', 'write a full URL like https://example.com/hook');
    }
    return trimmed;
  });

export type StoreSpec = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/** Never echoes the value: a database URL carries its password. */
export const store = () =>
  scalar({ type: 'sqlite or postgres:// URL', fix: 'write sqlite, or postgres://user:password@host/db' }, (value): StoreSpec => {
    const trimmed = value.trim();
    if (trimmed.toLowerCase() === 'sqlite') return { kind: 'sqlite' };
    if (/^postgres(ql)?:\/\/\S+$/.test(trimmed)) return { kind: 'postgres', url: trimmed };
    return invalid('this is neither sqlite nor a postgres:// URL', 'write sqlite (one machine) or postgres://user:password@host/db (several nodes)');
  });

export const uuid = () =>
  scalar({ type: 'UUID', fix: 'write a UUID like 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278' }, (value) => {
    const trimmed = value.trim();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(trimmed)) {
      invalid(`'${trimmed}' is not a UUID`, 'write one like 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278 (the one in your ping URL), or leave uuid out and nightshift makes one');
    }
    return trimmed.toLowerCase();
  });

const COMMAND: ScalarKind = {
  type: 'command',
  fix: 'write a string (run by /bin/sh -c) like command: python3 run.py, or a list (run without a shell) like command: [node, app.js]',
};

/** A string runs under /bin/sh -c; a non-empty list is argv, run without a shell. */
export const command = () =>
  z
    .unknown()
    .transform((input, ctx): CommandSpec => {
      if (typeof input === 'string') {
        if (input.trim() === '') addProblem(ctx, 'the command is empty', { fix: 'write the command to run, like command: python3 run.py' });
        return { kind: 'shell', script: input };
      }
      if (!Array.isArray(input)) {
        wrongKind(ctx, COMMAND, input);
        return z.NEVER;
      }
      const [program, ...args] = input;
      if (program === undefined) {
        addProblem(ctx, 'the command is an empty list', { fix: 'write the program and its arguments, like command: [node, app.js]' });
        return z.NEVER;
      }
      input.forEach((item, index) => {
        if (typeof item !== 'string') wrongKind(ctx, { type: 'text', fix: 'write each argument as text, in quotes if it contains : # [ ] or ,' }, item, [index]);
      });
      if (program === '') addProblem(ctx, 'the program name is empty', { fix: 'write the program first, like [node, app.js]' }, [0]);
      return { kind: 'argv', argv: [String(program), ...args.map(String)] };
    })
    .meta({ type: 'command' });

/** A list; a single value is taken as a list of one (`ignore: swap.none`). */
export function listOf<T>(item: z.ZodType<T>, itemType: string) {
  const kind: ScalarKind = { type: `list of ${itemType}`, fix: `write a list like [a, b]` };
  return z
    .unknown()
    .transform((input, ctx): T[] => {
      const items: unknown = typeof input === 'string' ? [input] : input;
      if (!Array.isArray(items)) {
        wrongKind(ctx, kind, input);
        return z.NEVER;
      }
      const out: T[] = [];
      items.forEach((value, index) => {
        const result = item.safeParse(value);
        if (result.success) out.push(result.data);
        for (const issue of result.error?.issues ?? []) {
          const params = (issue as { params?: IssueParams }).params ?? { fix: kind.fix };
          addProblem(ctx, issue.message, params, [index, ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))]);
        }
      });
      return out;
    })
    .meta({ type: `list of ${itemType}` });
}

/** `{ NAME: value }` maps such as `env:` and webhook `headers:`. */
export const textMap = () => z.record(z.string(), text()).meta({ type: 'mapping of text' });
