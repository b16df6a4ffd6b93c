/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real daemon with real jobs.
 * The CLI tests use the built CLI (dist/): build first with `npx tsc -p tsconfig.build.json`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { launchChromium, startDashDaemon, waitCount, waitText, type DashDaemon } from './helpers.ts';

let d: DashDaemon;
let chrome: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  d = await startDashDaemon(
    ({ port, dir, fix }) => `
project: dash-test
http: { listen: "127.0.0.1:${port}" }
jobs:
  nightly: { command: "echo nightly", schedule: "0 3 * * *" }
  gated: { command: [sh, "${fix}gate.sh", "${dir}"] }
  stepper: { command: [sh, "${fix}stepper.sh", "${dir}"] }
  evil: { command: [sh, "${fix}evil.sh"] }
checks:
  backup: { every: 1d, grace: 1h }
`,
  );
  chrome = await launchChromium();
});

afterAll(async () => {
  await chrome?.close();
  await d?.cleanup();
});

async function newPage(): Promise<Page> {
  const page = await chrome.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  return page;
}

/** A job's row on the overview (rows carry no id, to keep 100 of them small: found by the link to the job). */
function jobRow(page: Page, job: string) {
  return page.locator(`#jobs li:has(> div > a[href="/jobs/${job}"])`);
}

/** Marks the window; if the page reloads or navigates, the mark is gone. */
async function markWindow(page: Page): Promise<void> {
  await page.evaluate('window.__mark = 1; undefined');
}
async function sameWindow(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('window.__mark === 1');
}

describe('dashboard in chromium', () => {
  it('lists every job, check and host finding, from the daemon alone (no external requests), within 60 KB', async () => {
    const page = await newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    let bytes = 0;
    page.on('response', async (r) => {
      if (r.url().startsWith(d.url) && !r.url().includes('/api/v1/events')) bytes += (await r.body().catch(() => Buffer.alloc(0))).length;
    });
    await page.goto(`${d.url}/`);
    for (const job of ['nightly', 'gated', 'stepper', 'evil']) await waitText(jobRow(page, job).locator('a').first(), job);
    await waitText(page.locator('[data-check="backup"]'), 'new');
    await waitText(page.locator('#conn'), /^\s*live\s*$/);
    // The host findings (doctor) arrive after the page, without a reload: the page never waits for them.
    await waitText(page.locator('#host'), 'Checked', 15_000);
    expect(requests.every((u) => u.startsWith(d.url))).toBe(true);
    // The same three resources, counted exactly by fetching them.
    const html = await (await fetch(`${d.url}/`)).text();
    const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    let total = Buffer.byteLength(html);
    for (const a of assets) total += (await (await fetch(`${d.url}${a}`)).arrayBuffer()).byteLength;
    expect(assets).toHaveLength(2);
    expect(total).toBeLessThanOrEqual(60 * 1024);
    expect(bytes).toBeGreaterThan(0);
    await page.close();
  });

  it('shows a run started from the CLI start and finish without a reload', async () => {
    expect(existsSync(CLI)).toBe(true);
    const page = await newPage();
    await page.goto(`${d.url}/`);
    await waitText(page.locator('#conn'), /^\s*live\s*$/);
    await markWindow(page);
    const row = jobRow(page, 'gated');
    await waitText(row, 'idle');
    const started = await runCli(['run', 'gated', '-c', d.configPath]);
    expect(started.code, started.stderr).toBe(0);
    await waitText(row.locator('.b').first(), /^\s*running\s*$/);
    writeFileSync(join(d.dir, 'open'), '');
    await waitText(row.locator('.facts'), 'succeeded');
    await waitText(row.locator('.b').first(), /^\s*idle\s*$/);
    await waitCount(row.locator('.strip i'), 1);
    expect(await sameWindow(page)).toBe(true);
    await page.close();
  });

  it('pauses a job from its page only with the API token', async () => {
    const page = await newPage();
    await page.goto(`${d.url}/jobs/nightly`);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.waitForURL(/\/login\?next=%2Fjobs%2Fnightly&why=action/);
    await waitText(page.locator('.flash'), 'need the API token');
    expect((await d.daemon.store.getJobState('nightly')).paused).toBe(false);

    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitText(page.locator('.flash'), /^\s*That is not the API token\.\s*$/);

    await page.getByLabel('API token').fill(d.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${d.url}/jobs/nightly`);
    const cookie = (await chrome.context.cookies(d.url)).find((c) => c.name === 'nightshift_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie?.value).not.toContain(d.token);

    await page.getByRole('button', { name: 'Pause' }).click();
    await waitText(page.locator('.flash'), 'Paused');
    await waitText(page.locator('h1 .b'), /^\s*paused\s*$/);
    expect((await d.daemon.store.getJobState('nightly')).paused).toBe(true);

    await page.getByRole('button', { name: 'Resume' }).click();
    await waitText(page.locator('h1 .b'), /^\s*idle\s*$/);
    expect((await d.daemon.store.getJobState('nightly')).paused).toBe(false);
    await page.close();
  });

  it('shows the live tail of a running run line by line as the job prints', async () => {
    const page = await newPage();
    await page.goto(`${d.url}/jobs/stepper`);
    await waitText(page.locator('#conn'), /^\s*live\s*$/);
    await markWindow(page);
    const res = await fetch(`${d.url}/api/v1/jobs/stepper/runs`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } });
    expect(res.status).toBe(202);
    const tail = page.locator('#tail');
    await waitText(tail, /^\s*line 1\s*$/);
    writeFileSync(join(d.dir, 'go2'), '');
    await waitText(tail, /^line 1\s*line 2\s*$/);
    writeFileSync(join(d.dir, 'go3'), '');
    await waitText(tail, /^line 1\s*line 2\s*line 3\s*$/);
    writeFileSync(join(d.dir, 'end'), '');
    // The run ends: the page says so without a reload.
    await waitText(page.locator('#live h2'), /^\s*Not running\s*$/);
    await waitText(page.locator('#history tbody tr').first(), 'succeeded');
    expect(await sameWindow(page)).toBe(true);
    await page.close();
  });

  it('shows what a job printed as text: <script> does not run, ANSI colours become colours', async () => {
    const { run } = (await (await fetch(`${d.url}/api/v1/jobs/evil/runs`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } })).json()) as { run: { id: string } };
    await waitFor(async () => (await d.daemon.store.getRun(run.id))?.status === 'succeeded', 10_000, 'the evil run to end');
    const page = await newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dlg) => void dlg.dismiss().then(() => dialogs.push(dlg.message())));
    await page.goto(`${d.url}/jobs/evil/runs/${run.id}`);
    const out = page.locator('pre.out');
    await waitText(out, '<script>window.__pwned = 1</script>');
    await waitText(out, '<img src=x onerror="window.__pwned = 2">');
    await waitText(out.locator('.a-f1'), /^\s*red text\s*$/);
    await waitText(out.locator('.a-b.a-f2'), /^\s*bold green\s*$/);
    await waitText(out, 'cursorgone');
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    expect(await out.locator('script, img').count()).toBe(0);
    expect(await out.textContent()).not.toContain('\u001b');
    // Search goes through the same escaping.
    await page.getByLabel('Search the output').fill('script');
    await page.getByRole('button', { name: 'Search' }).click();
    await waitCount(page.locator('pre.out .l'), 1);
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('shows a check going down and its incident opening without a reload; the check and incident pages tell the story', async () => {
    const page = await newPage();
    await page.goto(`${d.url}/`);
    await waitText(page.locator('#conn'), /^\s*live\s*$/);
    await markWindow(page);
    const { uuid } = (await (await fetch(`${d.url}/api/v1/checks/backup`)).json()) as { uuid: string };
    const ping = await fetch(`${d.url}/ping/${uuid}/fail`, { method: 'POST', body: 'disk full <b>bold?</b>' });
    expect(ping.status).toBe(200);
    await waitText(page.locator('[data-check="backup"] .b'), /^\s*down\s*$/);
    await waitText(page.locator('#attention'), 'backup');
    expect(await sameWindow(page)).toBe(true);

    await page.locator('#attention a', { hasText: 'backup' }).first().click();
    await waitText(page.locator('#incident'), 'incident opened');
    await waitText(page.locator('#incident h1 .b'), 'open');
    await page.goto(`${d.url}/checks/backup`);
    const row = page.locator('#pings tbody tr').first();
    await waitText(row, 'fail');
    await waitText(row, 'disk full <b>bold?</b>');
    expect(await row.locator('b').count()).toBe(0);
    await page.close();
  });

  it('fits a 375 px phone screen without horizontal scrolling, in light and dark', async () => {
    const page = await chrome.context.newPage();
    await page.setViewportSize({ width: 375, height: 812 });
    const evil = (await d.daemon.store.listRuns({ job: 'evil', limit: 1 }))[0];
    for (const path of ['/', '/jobs/nightly', '/jobs/stepper', '/checks/backup', '/incidents', '/host', ...(evil ? [`/jobs/evil/runs/${evil.id}`] : [])]) {
      await page.goto(`${d.url}${path}`);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, `horizontal overflow on ${path}`).toBeLessThanOrEqual(0);
    }
    await page.goto(`${d.url}/`);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    expect(light).toBe('rgb(255, 255, 255)');
    expect(dark).not.toBe(light);
    await page.close();
  });

  it('is keyboard reachable: Tab reaches the job actions, and states are words as well as colours', async () => {
    const page = await newPage();
    await page.goto(`${d.url}/jobs/nightly`);
    let reached = '';
    for (let i = 0; i < 40 && reached !== 'Run now'; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''");
    }
    expect(reached).toBe('Run now');
    await page.goto(`${d.url}/`);
    const badges = await page.locator('.b').allTextContents();
    expect(badges.length).toBeGreaterThan(0);
    for (const text of badges) expect(text.trim()).not.toBe('');
    await page.close();
  });
});
