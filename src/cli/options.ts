import { usageError } from './errors.ts';

/** `--limit N`: a whole number from 1 to 10000. */
export function parseLimit(raw: string, flag = '--limit'): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) {
    throw usageError(`${flag} must be a whole number from 1 to 10000; got '${raw}'`);
  }
  return value;
}
