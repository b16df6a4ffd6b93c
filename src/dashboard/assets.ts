/**
 * The dashboard's stylesheet and script, served by the daemon itself (no CDN, no external font). Their URLs carry a
 * hash of their content, so browsers may cache them for good and a new version is fetched at once.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { APP_CSS } from './assets/app-css.ts';
import { APP_JS } from './assets/app-js.ts';

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

/**
 * Indentation and blank lines go (the sources keep them for reading): a few hundred bytes of the 60 KB page budget.
 * Safe for both: line breaks stay, so no statement or rule is joined to the next.
 */
const compact = (text: string) => text.replace(/^[ \t]+/gm, '').replace(/\n{2,}/g, '\n');
const CSS = compact(APP_CSS);
const JS = compact(APP_JS);

export const ASSET_PATHS = {
  css: `/assets/app.${hash(CSS)}.css`,
  js: `/assets/app.${hash(JS)}.js`,
} as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function assetRoutes(): Hono {
  const app = new Hono();
  app.get(ASSET_PATHS.css, (c) => c.body(CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': IMMUTABLE }));
  app.get(ASSET_PATHS.js, (c) => c.body(JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': IMMUTABLE }));
  return app;
}
