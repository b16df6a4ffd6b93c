#!/usr/bin/env node
// Writes docs/config.md, the reference of every nightshift.yaml key, from the schema's own metadata.
// Reads the BUILT module, so run `npx tsc -p tsconfig.build.json` (npm run build) first.
//   node scripts/gen-config-docs.mjs           write docs/config.md
//   node scripts/gen-config-docs.mjs --check   exit 1 if docs/config.md is not what would be written (for CI)

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'config', 'index.js');
const target = join(root, 'docs', 'config.md');

if (!existsSync(built)) {
  console.error(`${built} is missing: run npm run build (npx tsc -p tsconfig.build.json) first`);
  process.exit(2);
}

const { renderConfigReference } = await import(built);
const expected = renderConfigReference();

if (process.argv.includes('--check')) {
  const actual = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (actual !== expected) {
    console.error('docs/config.md is out of date: run npm run docs:config');
    process.exit(1);
  }
  console.log('docs/config.md is up to date');
} else {
  writeFileSync(target, expected);
  console.log(`wrote ${target}`);
}
