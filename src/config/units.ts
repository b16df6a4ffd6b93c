/**
 * Parsers for the units users write in nightshift.yaml. Each returns a plain number (milliseconds, bytes, percent) or
 * throws a UnitError carrying the problem and the fix; the schema layer turns that into a ConfigError with the
 * file:line:column of the value.
 *
 * Durations: `500ms 30s 10m 2h 1d`, combined as `1h30m`, decimals allowed (`1.5h`). A bare number is NOT a duration,
 * not even 0: `timeout: 30` could mean seconds or minutes, and guessing wrong runs a job 60 times too long.
 * Sizes: `512K 50M 1G 2T`, also `B`, `KB`, `KiB`; letters in any case; every multiple is 1024. A bare number is bytes.
 * Rates: `10/1h` (10 per hour); the `1` may be left out (`10/h`).
 * Percent: `50%`.
 */

import type { FreeDiskFloor, Rate } from './types.ts';

export class UnitError extends Error {
  readonly problem: string;
  readonly fix: string;

  constructor(problem: string, fix: string) {
    super(`${problem}; ${fix}`);
    this.name = 'UnitError';
    this.problem = problem;
    this.fix = fix;
  }
}

const MS_PER_UNIT = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof MS_PER_UNIT;

/** Longer than any deadline anyone means; beyond it the number is almost surely a typo. */
const MAX_DURATION_MS = 10 * 365 * MS_PER_UNIT.d;

export const DURATION_FIX = 'write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)';
export const SIZE_FIX = 'write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)';
export const RATE_FIX = 'write it like 10/1h (10 per hour) or 100/1d';
export const PERCENT_FIX = 'write it like 50%';

/** Milliseconds in a duration such as `30s` or `1h30m`. */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new UnitError(`${text} has no unit`, `write it like ${text}s or ${text}m (units: ms, s, m, h, d)`);
  }
  const total = sumDurationParts(text);
  if (total === undefined) {
    const lower = text.toLowerCase();
    if (lower !== text && sumDurationParts(lower) !== undefined) {
      throw new UnitError(`'${text}' is not a duration`, `write ${lower}: duration units are lowercase (M is megabytes)`);
    }
    throw new UnitError(`'${text}' is not a duration`, DURATION_FIX);
  }
  if (total > MAX_DURATION_MS) throw new UnitError(`'${text}' is longer than 10 years`, 'write a shorter duration');
  return Math.round(total);
}

function sumDurationParts(text: string): number | undefined {
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * MS_PER_UNIT[match[2] as DurationUnit];
    index = part.lastIndex;
  }
  return index === 0 ? undefined : total;
}

/** The shortest way to write `ms` back in config units, for messages: 1500 → `1s500ms`, 5400000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [DurationUnit, number][] = [['d', MS_PER_UNIT.d], ['h', MS_PER_UNIT.h], ['m', MS_PER_UNIT.m], ['s', MS_PER_UNIT.s], ['ms', 1]];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

const BYTES_PER_PREFIX = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 } as const;
type SizePrefix = keyof typeof BYTES_PER_PREFIX;

/** Bytes in a size such as `50M`; a bare number is bytes. */
export function parseSize(input: string): number {
  const text = input.trim();
  const match = /^(\d+(?:\.\d+)?) ?([kmgt]?)(i?b)?$/i.exec(text);
  if (match === null) {
    if (/^\d+(\.\d+)?\s*%$/.test(text)) throw new UnitError(`'${text}' is a percent, not a size`, SIZE_FIX);
    throw new UnitError(`'${text}' is not a size`, SIZE_FIX);
  }
  const prefix = (match[2] ?? '').toLowerCase() as SizePrefix;
  const bytes = Math.floor(Number(match[1]) * BYTES_PER_PREFIX[prefix]);
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`'${text}' is too large`, 'write a size below 8P');
  return bytes;
}

/** `1073741824` → `1G`, for messages. */
export function formatSize(bytes: number): string {
  for (const [prefix, size] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${prefix}`;
  }
  return `${bytes}B`;
}

/** `536870912` → `512M`, `555745280` → `530M`, `1288490188` → `1.2G`: rounded, for messages about measured sizes. */
export function formatSizeApprox(bytes: number): string {
  for (const [prefix, size] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(bytes >= 10 * size ? 0 : 1))}${prefix}`;
  }
  return `${bytes}B`;
}

/** `10/1h` → `{ count: 10, perMs: 3600000 }`. */
export function parseRate(input: string): Rate {
  const text = input.trim();
  const match = /^(\d+)\s*\/\s*(\S+)$/.exec(text);
  if (match === null) throw new UnitError(`'${text}' is not a rate`, RATE_FIX);
  const count = Number(match[1]);
  const window = match[2] ?? '';
  if (count < 1) throw new UnitError(`'${text}' allows nothing`, 'write a count of at least 1, like 10/1h');
  let perMs: number;
  try {
    perMs = parseDuration(/^[a-z]+$/.test(window) ? `1${window}` : window);
  } catch {
    throw new UnitError(`'${text}' is not a rate: '${window}' is not a duration`, RATE_FIX);
  }
  if (perMs < 1000) throw new UnitError(`'${text}' has a window below 1s`, RATE_FIX);
  return { count, perMs };
}

/** `50%` → 50. The range is checked by the caller, which knows whether 150% (of a CPU) makes sense. */
export function parsePercent(input: string): number {
  const text = input.trim();
  const match = /^(\d+(?:\.\d+)?) ?%$/.exec(text);
  if (match === null) {
    const fix = /^\d+(\.\d+)?$/.test(text) ? `write ${text}%` : PERCENT_FIX;
    throw new UnitError(`'${text}' is not a percent`, fix);
  }
  return Number(match[1]);
}

/** `10%` of the disk, or a size such as `5G`, for `logs.min_free_disk`. */
export function parsePercentOrSize(input: string): FreeDiskFloor {
  const text = input.trim();
  if (text.endsWith('%')) {
    const percent = parsePercent(text);
    if (percent > 100) throw new UnitError(`'${text}' is more than the whole disk`, 'write a percent from 0% to 100%, or a size like 5G');
    return { kind: 'percent', percent };
  }
  try {
    return { kind: 'bytes', bytes: parseSize(text) };
  } catch {
    throw new UnitError(`'${text}' is neither a percent nor a size`, 'write it like 10% or 5G');
  }
}
