/**
 * What the dashboard tests share: a real daemon (in-process, real SQLite, real jobs) listening on a known free port so
 * the real CLI can reach it too, and Debian's chromium driven by playwright-core (never a downloaded browser).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator } from 'playwright-core';
import { waitFor } from '../helpers/wait-for.ts';
import { loadConfig } from '../../src/config/index.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { freePort } from '../helpers/cli.ts';

export const DASH_FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface DashDaemon {
  daemon: Daemon;
  dir: string;
  configPath: string;
  url: string;
  token: string;
  cleanup(): Promise<void>;
}

/**
 * Starts a daemon on `host` and a free port with the config `yaml(port, dir)`; `$DIR` and `$FIX` in the YAML are the
 * temp dir and this folder's fixtures.
 */
export async function startDashDaemon(yaml: (vars: { port: number; dir: string; fix: string }) => string): Promise<DashDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-dash-'));
  const port = await freePort();
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(configPath, yaml({ port, dir, fix: DASH_FIXTURES }));
  const load = () => loadConfig({ explicit: configPath, env: { ...process.env }, cwd: dir });
  const daemon = await Daemon.start({ config: load(), logger: silentLogger(), reloadConfig: async () => load() });
  return {
    daemon,
    dir,
    configPath,
    url: daemon.url(),
    token: daemon.apiToken(),
    cleanup: async () => {
      const ids = (await daemon.store.listRuns({ statuses: ['running'], limit: 1000 }).catch(() => [])).map((r) => r.id);
      await daemon.stop();
      const host = new HostProcesses();
      for (const id of ids) await host.killMarked(id, null, 200);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Debian's chromium, headless, with a fresh profile in a temp dir (removed by close()). Playwright takes the profile
 * directory through launchPersistentContext (it refuses --user-data-dir among the args), so this is one context.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'nightshift-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Playwright's own waiting, without @playwright/test: polls the locator's text until it contains `want` (a string)
 * or matches it (a RegExp); returns the text. Throws after `timeoutMs` naming what was awaited and what was seen.
 */
export async function waitText(loc: Locator, want: string | RegExp, timeoutMs = 10_000): Promise<string> {
  let seen: string | null = null;
  try {
    return await waitFor(
      async () => {
        seen = (await loc.first().textContent({ timeout: 500 }).catch(() => null)) ?? null;
        if (seen === null) return null;
        const ok = typeof want === 'string' ? seen.includes(want) : want.test(seen);
        return ok ? seen || ' ' : null;
      },
      timeoutMs,
      `${String(loc)} to show ${String(want)}`,
      50,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; it showed ${JSON.stringify(seen)}`);
  }
}

export async function waitCount(loc: Locator, n: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await loc.count()) === n, timeoutMs, `${String(loc)} to count ${n}`, 50);
}
