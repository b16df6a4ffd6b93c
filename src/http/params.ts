import type { Context } from 'hono';
import { ApiError } from './errors.ts';

/** A whole-number query parameter within [min, max], or `fallback` when absent; a 400 naming it otherwise. */
export function intParam(c: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ApiError(400, 'bad_request', `query parameter ${name} must be a whole number from ${min} to ${max}; got '${raw}'`);
  }
  return value;
}
