/**
 * Documents each key where it is declared: description, default (from defaults.ts) and an example, read back by
 * the docs generator (reference.ts) and by error messages ("write it like …").
 */

import * as z from 'zod';

export type DefaultValue = string | number | boolean | null | readonly string[] | Readonly<Record<string, string>>;

export interface FieldDoc {
  description: string;
  /** The default as a user would write it; null = none. Leave out when the default is computed. */
  default?: DefaultValue;
  /** The default in words, when it depends on the machine or the file (COMPUTED_DEFAULTS). */
  computedDefault?: string;
  /** A line a user could paste, used in fixes: `retries: 3`. */
  example?: string;
}

/** The metadata every field carries; `type` comes from the value's builder, the rest from the field. */
export interface FieldMeta extends FieldDoc {
  type?: string;
  required?: boolean;
}

/** A key the user may leave out. */
export function optional<S extends z.ZodType>(schema: S, doc: FieldDoc) {
  return schema.optional().meta({ ...doc });
}

/** A key with no sensible default (a job's command, a webhook's url). */
export function required<S extends z.ZodType>(schema: S, doc: { description: string; example: string }) {
  return schema.meta({ ...schema.meta(), ...doc, required: true });
}

/** A `z.strictObject` documented as a whole: unknown keys are errors, with a "did you mean" from its own keys. */
export function section<T extends z.core.$ZodLooseShape>(shape: T, example?: string) {
  return z.strictObject(shape).meta({ type: 'mapping', ...(example === undefined ? {} : { example }) });
}

/** Reads the metadata of a schema and of everything it wraps (optional → inner), outermost first. */
export function metaOf(schema: z.core.$ZodType | undefined): FieldMeta {
  const layers: FieldMeta[] = [];
  let current = schema;
  while (current !== undefined) {
    const meta = z.globalRegistry.get(current);
    if (meta !== undefined) layers.push(meta as FieldMeta);
    current = current instanceof z.ZodOptional ? (current.unwrap() as z.core.$ZodType) : undefined;
  }
  return Object.assign({}, ...layers.reverse()) as FieldMeta;
}
