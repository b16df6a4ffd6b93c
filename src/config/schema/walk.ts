/**
 * Finding your way around the schema: which schema describes the value at a key path, and what keys a mapping
 * allows. Used for "did you mean" on unknown keys, for the example in a fix, and by the docs generator.
 */

import * as z from 'zod';
import type { ConfigPath } from '../errors.ts';

type Schema = z.core.$ZodType;

/** The schema without its `.optional()` wrappers. */
export function unwrapOptional(schema: Schema): Schema {
  let current = schema;
  while (current instanceof z.ZodOptional) current = current.unwrap() as Schema;
  return current;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The option of a union that describes `value`: for a discriminated union the one whose `type` matches, for a
 * shorthand (`retries: 3` or `retries: { … }`) the mapping option when the value is a mapping, else the other one.
 */
export function unionOptionFor(union: z.ZodUnion, value: unknown): Schema | undefined {
  const options = union.options as readonly Schema[];
  if (union instanceof z.ZodDiscriminatedUnion) {
    const discriminator = union._zod.def.discriminator;
    const wanted = isPlainObject(value) ? value[discriminator] : undefined;
    return options.find((option) => option instanceof z.ZodObject && literalValue(option.shape[discriminator]) === wanted);
  }
  const wantsObject = isPlainObject(value);
  return options.find((option) => (unwrapOptional(option) instanceof z.ZodObject) === wantsObject);
}

/** The schema of the value at `path` (with its optional wrapper, so its field metadata is there), if any. */
export function schemaAt(root: Schema, path: ConfigPath, rootValue: unknown): Schema | undefined {
  let schema: Schema | undefined = root;
  let value = rootValue;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    let inner = unwrapOptional(schema);
    if (inner instanceof z.ZodUnion) inner = unwrapOptional(unionOptionFor(inner, value) ?? inner);
    if (inner instanceof z.ZodObject && typeof segment === 'string') schema = (inner.shape as Record<string, Schema>)[segment];
    else if (inner instanceof z.ZodRecord) schema = inner.valueType as Schema;
    else if (inner instanceof z.ZodArray) schema = inner.element as Schema;
    else return undefined;
    value = isPlainObject(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[segment] : undefined;
  }
  return schema;
}

/** The keys a mapping at `path` accepts, or [] when it is not a fixed mapping. */
export function keysAt(root: Schema, path: ConfigPath, rootValue: unknown): string[] {
  const schema = schemaAt(root, path, rootValue);
  if (schema === undefined) return [];
  let inner = unwrapOptional(schema);
  if (inner instanceof z.ZodUnion) inner = unwrapOptional(unionOptionFor(inner, valueAt(rootValue, path)) ?? inner);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

export function valueAt(root: unknown, path: ConfigPath): unknown {
  let value = root;
  for (const segment of path) {
    if (!isPlainObject(value) && !Array.isArray(value)) return undefined;
    value = Object.hasOwn(value, segment) ? (value as Record<string | number, unknown>)[segment] : undefined;
  }
  return value;
}

function literalValue(schema: Schema | undefined): unknown {
  return schema instanceof z.ZodLiteral ? schema.value : undefined;
}
