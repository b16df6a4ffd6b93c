/**
 * Page weight at the scale the issue names: 100 jobs, each with a history of mixed outcomes, plus open incidents —
 * the overview (HTML + its stylesheet + its script, uncompressed) stays within 60 KB, and every job is on it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newRunId } from '../../src/util/ids.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { startDashDaemon, type DashDaemon } from './helpers.ts';

const JOBS = Array.from({ length: 100 }, (_, i) => `pipeline-step-${String(i + 1).padStart(3, '0')}`);
let d: DashDaemon;

beforeAll(async () => {
  const hour = (new Date().getUTCHours() + 12) % 24;
  d = await startDashDaemon(({ port }) => `http: { listen: "127.0.0.1:${port}" }\njobs:\n${JOBS.map((j) => `  ${j}: { command: [true], schedule: "0 ${hour} * * *", timezone: UTC }`).join('\n')}\n`);
  const now = Date.now();
  for (const [j, job] of JOBS.entries()) {
    for (let i = 30; i >= 1; i--) {
      const at = now - i * 60_000;
      const id = newRunId(at);
      // Every fifth run fails, and a few jobs fail every other run (the worst case for the strip).
      const failed = i % 5 === 0 || (j % 10 === 0 && i % 2 === 0);
      await d.daemon.store.insertRun(
        { id, job, attempt: 1, chain_id: id, trigger: 'schedule', scheduled_at: new Date(at).toISOString(), node: 'test' },
        { status: failed ? 'failed' : 'succeeded', reason: null, exit_code: failed ? 1 : 0, signal: null, ended_at: new Date(at + 1500).toISOString() },
      );
    }
  }
  for (const job of JOBS.slice(0, 5)) {
    await d.daemon.watching.incidents.open({ kind: 'run_failed', subject: job, summary: `job ${job} failed with exit code 1`, detail: { fix: `read its output with \`nightshift logs ${job}\`` } });
  }
});

afterAll(async () => d?.cleanup());

it('keeps the overview of 100 jobs with history and incidents within 60 KB, every job listed', async () => {
  // The host findings (doctor) come in behind the first view; weigh the page with them.
  await fetch(`${d.url}/`);
  const html = await waitFor(async () => {
    const text = await (await fetch(`${d.url}/`)).text();
    return text.includes('Checked') ? text : null;
  }, 15_000, 'the host findings on the overview');
  const res = await fetch(`${d.url}/`);
  await res.arrayBuffer();
  for (const job of JOBS) expect(html).toContain(`<a href="/jobs/${job}">${job}</a>`);
  expect(html).toContain('5 things need attention');
  const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(assets).toHaveLength(2);
  let total = Buffer.byteLength(html);
  for (const a of assets) total += (await (await fetch(`${d.url}${a}`)).arrayBuffer()).byteLength;
  console.log(`overview of 100 jobs: ${total} bytes with its stylesheet and script`);
  if (process.env.DUMP_OVERVIEW) (await import("node:fs")).writeFileSync(process.env.DUMP_OVERVIEW, html);
  expect(total, `${total} bytes`).toBeLessThanOrEqual(60 * 1024);

  expect(res.headers.get('server-timing')).toMatch(/^render;dur=\d/);
});
