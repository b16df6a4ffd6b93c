/**
 * Renders docs/config.md — every key of nightshift.yaml with its type, default and description — from the schema's
 * own metadata, so the reference cannot drift from what the loader accepts. scripts/gen-config-docs.mjs writes it
 * (and with --check, fails CI when the committed file is stale).
 */

import * as z from 'zod';
import { configSchema } from './schema.ts';
import { CHANNEL_SCHEMAS } from './schema/channels.ts';
import { metaOf } from './schema/field.ts';
import { unwrapOptional } from './schema/walk.ts';

type Schema = z.core.$ZodType;

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

const INTRO = `# nightshift.yaml reference

<!-- Generated from src/config/schema.ts by scripts/gen-config-docs.mjs. Do not edit by hand: run \`npm run docs:config\`. -->

Every key is optional and has the default shown, except those marked **required**. Unknown keys are errors.
A guide with a complete example is in [configuration.md](configuration.md).

- **duration**: \`500ms\`, \`30s\`, \`10m\`, \`2h\`, \`1d\`, or combined like \`1h30m\`. A bare number is not a duration.
- **size**: \`512K\`, \`50M\`, \`1G\`, \`2T\` (any case, multiples of 1024; \`B\`, \`KB\`, \`KiB\` also read). A bare number is bytes.
- **rate**: \`10/1h\` (10 per hour); \`10/h\` also works.
- **percent**: \`50%\`.
- **\${VAR}** in any value reads the environment; \`\${VAR:-default}\` falls back when VAR is unset or empty;
  \`$\${VAR}\` is the literal text \`\${VAR}\`.
- Relative paths (\`state_dir\`, \`cwd\`, \`env_file\`) are relative to the config file's directory.
- Top-level keys starting with \`x-\` are ignored: a place for YAML anchors (\`x-defaults: &defaults\`) that jobs
  merge with \`<<: *defaults\`.
`;

export function renderConfigReference(): string {
  const shape = configSchema.shape as Record<string, Schema>;
  const topRows: Row[] = [];
  const sections: string[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const inner = unwrapOptional(field);
    const row = rowFor(key, field);
    if (inner instanceof z.ZodObject) {
      topRows.push({ ...row, description: `${row.description} See [${key}](#${key}).` });
      sections.push(section(key, fieldRows(inner, key)));
    } else if (inner instanceof z.ZodRecord) {
      topRows.push({ ...row, description: `${row.description} See [${key}](#${key}).` });
      sections.push(recordSection(key, inner.valueType as Schema, row.description));
    } else {
      topRows.push(row);
    }
  }
  return [INTRO, section('Top-level keys', topRows), ...sections].join('\n');
}

function recordSection(key: string, value: Schema, description: string): string {
  const prefix = `${key}.<name>`;
  const intro = `## ${key}\n\n${description}\n`;
  if (value instanceof z.ZodDiscriminatedUnion) {
    const parts = [`${intro}\nEach entry has a \`type\`, which decides its other keys.\n`];
    for (const option of CHANNEL_SCHEMAS) {
      const rows = fieldRows(option, prefix).filter((row) => row.key !== `${prefix}.type`);
      parts.push(section(`\`type: ${option.shape.type.value}\``, rows, 3));
    }
    return parts.join('\n');
  }
  const inner = unwrapOptional(value);
  return inner instanceof z.ZodObject ? `${intro}\n${table(fieldRows(inner, prefix))}` : '';
}

/** Rows for every key of a mapping, descending into nested mappings and shorthands' long forms. */
function fieldRows(object: z.ZodObject, prefix: string): Row[] {
  const rows: Row[] = [];
  for (const [name, field] of Object.entries(object.shape as Record<string, Schema>)) {
    const key = `${prefix}.${name}`;
    rows.push(rowFor(key, field));
    const nested = nestedObject(unwrapOptional(field));
    if (nested !== undefined) rows.push(...fieldRows(nested, key));
  }
  return rows;
}

function nestedObject(schema: Schema): z.ZodObject | undefined {
  if (schema instanceof z.ZodObject) return schema;
  if (schema instanceof z.ZodUnion && !(schema instanceof z.ZodDiscriminatedUnion)) {
    return (schema.options as readonly Schema[]).find((option): option is z.ZodObject => option instanceof z.ZodObject);
  }
  return undefined;
}

function rowFor(key: string, field: Schema): Row {
  const meta = metaOf(field);
  const inner = unwrapOptional(field);
  const type = meta.type ?? (inner instanceof z.ZodRecord ? 'mapping of names' : inner instanceof z.ZodObject ? 'mapping' : 'value');
  return { key, type, default: formatDefault(meta), description: meta.description ?? '' };
}

function formatDefault(meta: ReturnType<typeof metaOf>): string {
  if (meta.required === true) return '**required**';
  if (meta.computedDefault !== undefined) return meta.computedDefault;
  const value = meta.default;
  if (value === undefined) return meta.type === 'mapping' ? 'see its keys' : '';
  if (value === null) return 'none';
  if (Array.isArray(value)) return `\`[${value.join(', ')}]\``;
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '`{}`' : `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

function section(title: string, rows: Row[], depth = 2): string {
  return `${'#'.repeat(depth)} ${title}\n\n${table(rows)}`;
}

function table(rows: Row[]): string {
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const row of rows) {
    lines.push(`| \`${row.key}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Escapes what would break a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, ' ');
}
