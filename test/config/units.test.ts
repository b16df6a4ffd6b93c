import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatSize,
  parseDuration,
  parsePercent,
  parsePercentOrSize,
  parseRate,
  parseSize,
  UnitError,
} from '../../src/config/index.ts';

function problemOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof UnitError) return `${error.problem}; ${error.fix}`;
    throw error;
  }
  throw new Error('expected a UnitError');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5h', 5_400_000],
    ['0s', 0],
    [' 5m ', 300_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['30', '30 has no unit; write it like 30s or 30m (units: ms, s, m, h, d)'],
    ['0', '0 has no unit; write it like 0s or 0m (units: ms, s, m, h, d)'],
    ['10M', "'10M' is not a duration; write 10m: duration units are lowercase (M is megabytes)"],
    ['ten minutes', "'ten minutes' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)"],
    ['5 m', "'5 m' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)"],
    ['-5s', "'-5s' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)"],
    ['1w', "'1w' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)"],
    ['', "'' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)"],
    ['4000d', "'4000d' is longer than 10 years; write a shorter duration"],
  ])('rejects %j', (text, message) => {
    expect(problemOf(() => parseDuration(text))).toBe(message);
  });

  it.each([
    [0, '0s'],
    [100, '100ms'],
    [1500, '1s500ms'],
    [5_400_000, '1h30m'],
    [86_400_000, '1d'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('parseSize', () => {
  it.each([
    ['512', 512],
    ['512B', 512],
    ['512K', 512 * 1024],
    ['512k', 512 * 1024],
    ['50M', 50 * 1024 ** 2],
    ['50MB', 50 * 1024 ** 2],
    ['50MiB', 50 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4],
    ['10 M', 10 * 1024 ** 2],
    ['0', 0],
  ])('%s → %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['50X', "'50X' is not a size; write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)"],
    ['M', "'M' is not a size; write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)"],
    ['-1M', "'-1M' is not a size; write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)"],
    ['10%', "'10%' is a percent, not a size; write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)"],
  ])('rejects %j', (text, message) => {
    expect(problemOf(() => parseSize(text))).toBe(message);
  });

  it.each([
    [1024 ** 3, '1G'],
    [10 * 1024 ** 2, '10M'],
    [1000, '1000B'],
  ])('formatSize(%d) = %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});

describe('parseRate', () => {
  it.each([
    ['10/1h', { count: 10, perMs: 3_600_000 }],
    ['10/h', { count: 10, perMs: 3_600_000 }],
    ['100/1d', { count: 100, perMs: 86_400_000 }],
    ['5 / 30m', { count: 5, perMs: 1_800_000 }],
  ])('%s', (text, rate) => {
    expect(parseRate(text)).toEqual(rate);
  });

  it.each([
    ['10', "'10' is not a rate; write it like 10/1h (10 per hour) or 100/1d"],
    ['0/1h', "'0/1h' allows nothing; write a count of at least 1, like 10/1h"],
    ['10/hour', "'10/hour' is not a rate: 'hour' is not a duration; write it like 10/1h (10 per hour) or 100/1d"],
    ['10/500ms', "'10/500ms' has a window below 1s; write it like 10/1h (10 per hour) or 100/1d"],
  ])('rejects %j', (text, message) => {
    expect(problemOf(() => parseRate(text))).toBe(message);
  });
});

describe('parsePercent and parsePercentOrSize', () => {
  it.each([
    ['50%', 50],
    ['12.5%', 12.5],
    ['200 %', 200],
  ])('%s', (text, percent) => {
    expect(parsePercent(text)).toBe(percent);
  });

  it.each([
    ['50', "'50' is not a percent; write 50%"],
    ['half', "'half' is not a percent; write it like 50%"],
  ])('rejects %j', (text, message) => {
    expect(problemOf(() => parsePercent(text))).toBe(message);
  });

  it.each([
    ['10%', { kind: 'percent', percent: 10 }],
    ['5G', { kind: 'bytes', bytes: 5 * 1024 ** 3 }],
    ['0%', { kind: 'percent', percent: 0 }],
  ])('%s', (text, floor) => {
    expect(parsePercentOrSize(text)).toEqual(floor);
  });

  it.each([
    ['101%', "'101%' is more than the whole disk; write a percent from 0% to 100%, or a size like 5G"],
    ['lots', "'lots' is neither a percent nor a size; write it like 10% or 5G"],
  ])('rejects %j', (text, message) => {
    expect(problemOf(() => parsePercentOrSize(text))).toBe(message);
  });
});
