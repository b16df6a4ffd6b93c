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

/** A JSON object body, or {} when there is none; anything else is a 400 showing `example`, what it should look like. */
export async function jsonBody(c: Context, example: string): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'bad_request', `the body must be JSON, e.g. ${example}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, 'bad_request', `the body must be a JSON object, e.g. ${example}`);
  }
  return parsed as Record<string, unknown>;
}
