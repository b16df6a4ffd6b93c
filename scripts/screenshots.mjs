#!/usr/bin/env node
/**
 * Regenerates the dashboard screenshots in docs/img/ (overview and a job page, light and dark):
 *
 *   npx tsc -p tsconfig.build.json && node scripts/screenshots.mjs
 *
 * Starts the built daemon (`dist/cli/main.js up`) on a demo project in a temp dir — a few jobs that succeed, one that
 * fails every few seconds (so an incident is open), one paused, a check — waits until it has some history, and
 * photographs it with Debian's chromium (/usr/bin/chromium) through playwright-core. Everything it starts is stopped
 * by pid, and the temp dir removed, also when it fails.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const OUT = join(ROOT, 'docs', 'img');

if (!existsSync(CLI)) {
  process.stderr.write(`screenshots: ${CLI} is missing; build first: npx tsc -p tsconfig.build.json\n`);
  process.exit(2);
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Polls `check` every 100 ms until it returns something truthy; throws after `ms`. */
async function until(what, ms, check) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'nightshift-shots-'));
const profile = mkdtempSync(join(tmpdir(), 'nightshift-shots-chromium-'));
let daemon = null;
let context = null;

async function main() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'nightshift.yaml');
  writeFileSync(
    config,
    `project: seo-scanner
http: { listen: "127.0.0.1:${port}" }
jobs:
  scan:
    command: "echo scanning 120 pages; printf '\\\\033[32mok\\\\033[0m 120/120\\\\n'"
    schedule: "*/3 * * * * *"
  publish:
    command: "echo 'publishing…'; echo 'HTTP 429 Too Many Requests' >&2; exit 1"
    schedule: "*/4 * * * * *"
  report:
    command: "echo weekly report; sleep 1"
    schedule: "0 6 * * 1"
  ingest:
    command: "echo ingest"
    schedule: "*/5 * * * * *"
  chat:
    command: "while true; do echo heartbeat; sleep 5; done"
    restart: always
checks:
  backup: { every: 1d, grace: 1h }
`,
  );
  daemon = spawn(process.execPath, [CLI, 'up', '-c', config], { stdio: 'ignore', env: { ...process.env, NIGHTSHIFT_LOG_LEVEL: 'warn' } });
  await until('the daemon to answer', 20_000, async () => (await fetch(`${url}/healthz`)).status > 0);
  const token = readFileSync(join(dir, '.nightshift', 'api-token'), 'utf8').trim();
  const post = (path) => fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  await post('/jobs/report/runs');
  await until('some history and an open incident', 40_000, async () => {
    const incidents = await (await fetch(`${url}/api/v1/incidents`)).json();
    const runs = await (await fetch(`${url}/api/v1/jobs/scan/runs?limit=20`)).json();
    return incidents.length > 0 && runs.length >= 6;
  });
  await post('/jobs/ingest/pause');

  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await context.newPage();
  mkdirSync(OUT, { recursive: true });
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${url}/`);
    await page.locator('#conn', { hasText: 'live' }).waitFor();
    await page.locator('#host', { hasText: 'Checked' }).waitFor({ timeout: 30_000 }); // doctor's findings come in live
    await page.screenshot({ path: join(OUT, `dashboard-overview-${scheme}.png`), fullPage: true });
    await page.goto(`${url}/jobs/publish`);
    await page.screenshot({ path: join(OUT, `dashboard-job-${scheme}.png`), fullPage: false });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${url}/`);
    await page.screenshot({ path: join(OUT, `dashboard-phone-${scheme}.png`), fullPage: false });
  }
  process.stdout.write(`screenshots written to ${OUT}\n`);
}

async function cleanup() {
  await context?.close().catch(() => undefined);
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await Promise.race([new Promise((r) => daemon.once('exit', r)), sleep(15_000).then(() => daemon.kill('SIGKILL'))]);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}

try {
  await main();
} catch (error) {
  process.stderr.write(`screenshots failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
