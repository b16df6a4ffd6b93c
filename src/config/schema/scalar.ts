/**
 * The building block of every leaf in the schema: a value read out of the text the user wrote.
 *
 * Leaves are `z.unknown().transform(…)` rather than `z.string()` / `z.number()` so that every message is ours: what
 * was written, what was expected, and how to write it. A reader throws UnitError (from units.ts, or `invalid()` here)
 * with the problem and the fix; the schema records it as a zod issue carrying the fix in `params`.
 */

import * as z from 'zod';
import { UnitError } from '../units.ts';

/** What a zod issue raised by this module carries besides its message (the problem). */
export interface IssueParams {
  fix: string;
  /** The value was the wrong kind (a list or mapping where text belongs): used to pick a shorthand's branch. */
  wrongKind?: boolean;
}

export interface ScalarKind {
  /** How the docs and messages name the kind of value: `duration`, `whole number`, `skip | queue | replace`. */
  type: string;
  /** How to write one, used when the value is missing or the wrong kind: `write it like 500ms, 30s, …`. */
  fix: string;
}

/** A UnitError for readers that are not unit parsers. */
export function invalid(problem: string, fix: string): never {
  throw new UnitError(problem, fix);
}

type Ctx = z.core.$RefinementCtx<unknown>;

export function addProblem(ctx: Ctx, problem: string, params: IssueParams, path: (string | number)[] = []): void {
  ctx.addIssue({ code: 'custom', message: problem, params, path, input: undefined });
}

/** `'abc'`, `a list`, `a mapping`, `nothing` — how a value the user wrote is named in a message. */
export function describeInput(input: unknown): string {
  if (input === null || input === undefined) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  const text = String(input);
  return `'${text.length > 40 ? `${text.slice(0, 37)}...` : text}'`;
}

/** Reports a value that is not text at all: `timeout:` with nothing after it, or a list where a duration belongs. */
export function wrongKind(ctx: Ctx, kind: ScalarKind, input: unknown, path: (string | number)[] = []): void {
  if (input === null || input === undefined) {
    addProblem(ctx, 'has no value', { fix: `${kind.fix}, or delete the line to use the default`, wrongKind: true }, path);
  } else {
    addProblem(ctx, `expected ${withArticle(kind.type)}, got ${describeInput(input)}`, { fix: kind.fix, wrongKind: true }, path);
  }
}

export function scalar<T>(kind: ScalarKind, read: (text: string) => T) {
  return z
    .unknown()
    .transform((input, ctx): T => {
      const text = typeof input === 'number' || typeof input === 'boolean' ? String(input) : input;
      if (typeof text !== 'string') {
        wrongKind(ctx, kind, input);
        return z.NEVER;
      }
      try {
        return read(text);
      } catch (error) {
        if (!(error instanceof UnitError)) throw error;
        addProblem(ctx, error.problem, { fix: error.fix });
        return z.NEVER;
      }
    })
    .meta({ type: kind.type });
}

/** `a duration`, `an integer`, `one of skip | queue | replace`, `text`. */
export function withArticle(type: string): string {
  if (type.includes('|')) return `one of ${type}`;
  if (type === 'text') return 'text';
  return /^[aeiou]/i.test(type) ? `an ${type}` : `a ${type}`;
}
