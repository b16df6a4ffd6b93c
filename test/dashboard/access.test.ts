/**
 * Access to the dashboard over real HTTP against real daemons: open reading on loopback, the whole dashboard behind a
 * login beyond loopback, the session cookie's flags, CSRF protection of actions, and the SSE event feed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashDaemon, type DashDaemon } from './helpers.ts';

const JOBS = (fix: string, dir: string) => `
jobs:
  hello: { command: "echo hello" }
  gated: { command: [sh, "${fix}gate.sh", "${dir}"] }
`;

/** Reads SSE events from a fetch body until `enough(events)` says so (or the timeout aborts the fetch). */
async function readEvents(url: string, headers: Record<string, string>, enough: (events: Array<{ event: string; data: unknown }>) => boolean, onOpen: () => Promise<void>, timeoutMs = 10_000) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: Array<{ event: string; data: unknown }> = [];
  try {
    const res = await fetch(url, { headers, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let opened = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (block.startsWith(':') && !opened) {
          opened = true;
          await onOpen();
          continue;
        }
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
      if (enough(events)) break;
    }
    return events;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe('on loopback', () => {
  let d: DashDaemon;
  beforeAll(async () => {
    d = await startDashDaemon(({ port, dir, fix }) => `http: { listen: "127.0.0.1:${port}" }\n${JOBS(fix, dir)}`);
  });
  afterAll(async () => d?.cleanup());

  it('serves the overview without a login, with a CSP that runs only its own script', async () => {
    const res = await fetch(`${d.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('href="/jobs/hello"');
  });

  it('refuses actions without a session, and with a session but without the CSRF token or from another origin', async () => {
    const noSession = await fetch(`${d.url}/jobs/hello/pause`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: d.url }, body: '' });
    expect(noSession.status).toBe(303);
    expect(noSession.headers.get('location')).toContain('/login?next=');

    const login = await fetch(`${d.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: d.url }, body: new URLSearchParams({ token: d.token, next: '/jobs/hello' }) });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).not.toContain(d.token);
    const cookie = setCookie.split(';')[0]!;

    const noCsrf = await fetch(`${d.url}/jobs/hello/pause`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: d.url }, body: 'csrf=wrong' });
    expect(noCsrf.status).toBe(403);
    const page = await (await fetch(`${d.url}/jobs/hello`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(csrf).toBeTruthy();
    const foreign = await fetch(`${d.url}/jobs/hello/pause`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: `csrf=${csrf}` });
    expect(foreign.status).toBe(403);
    expect((await d.daemon.store.getJobState('hello')).paused).toBe(false);

    const ok = await fetch(`${d.url}/jobs/hello/pause`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: d.url }, body: `csrf=${csrf}` });
    expect(ok.status).toBe(303);
    expect((await d.daemon.store.getJobState('hello')).paused).toBe(true);
    await d.daemon.setPaused('hello', false);
  });

  it('streams run.started and run.ended on /api/v1/events as a run goes', async () => {
    const { writeFileSync } = await import('node:fs');
    const events = await readEvents(
      `${d.url}/api/v1/events`,
      {},
      (list) => list.some((e) => e.event === 'run.ended'),
      async () => {
        const res = await fetch(`${d.url}/api/v1/jobs/gated/runs`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } });
        expect(res.status).toBe(202);
        writeFileSync(`${d.dir}/open`, '');
      },
    );
    const types = events.map((e) => e.event);
    expect(types).toContain('run.started');
    expect(types.indexOf('run.started')).toBeLessThan(types.indexOf('run.ended'));
    const ended = events.find((e) => e.event === 'run.ended')!.data as { run: { job: string; status: string } };
    expect(ended.run).toMatchObject({ job: 'gated', status: 'succeeded' });
  });

  it('streams a finished run’s output and then `end` on /api/v1/runs/:id/output', async () => {
    const { run } = (await (await fetch(`${d.url}/api/v1/jobs/hello/runs`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } })).json()) as { run: { id: string } };
    await (await fetch(`${d.url}/api/v1/runs/${run.id}?wait=10000`)).json();
    const events = await readEvents(`${d.url}/api/v1/runs/${run.id}/output`, {}, (list) => list.some((e) => e.event === 'end'), async () => undefined);
    expect(events.filter((e) => e.event === 'line').map((e) => (e.data as { text: string }).text)).toEqual(['hello']);
  });

  it('resets a breaker through the API only with the token', async () => {
    expect((await fetch(`${d.url}/api/v1/jobs/hello/reset`, { method: 'POST' })).status).toBe(401);
    const res = await fetch(`${d.url}/api/v1/jobs/hello/reset`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } });
    expect(await res.json()).toEqual({ job: 'hello', reset: true });
  });
});

const TOKEN = 'dashboard-test-token-0123456789abcdef';

describe('beyond loopback', () => {
  let d: DashDaemon;
  let base: string;
  beforeAll(async () => {
    d = await startDashDaemon(({ port, dir, fix }) => `http: { listen: "0.0.0.0:${port}", token: "${TOKEN}" }\n${JOBS(fix, dir)}`);
    base = d.url.replace('0.0.0.0', '127.0.0.1');
  });
  afterAll(async () => d?.cleanup());

  it('sends every page to the login form, and the event stream answers 401, until signed in', async () => {
    for (const path of ['/', '/jobs/hello', '/incidents', '/checks/hello']) {
      const res = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await fetch(`${base}/api/v1/events`)).status).toBe(401);
    const form = await fetch(`${base}/login`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('type="password"');

    const wrong = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: 'token=nope' });
    expect(wrong.status).toBe(401);
    const login = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: new URLSearchParams({ token: d.token, next: '/' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = await fetch(`${base}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('href="/jobs/hello"');
    // The bearer token works for scripts too.
    const events = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${d.token}` } });
    expect(events.status).toBe(200);
    await events.body?.cancel();
    // An HTTPS-fronted daemon marks the cookie Secure.
    const secure = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'x-forwarded-proto': 'https' }, body: new URLSearchParams({ token: d.token }) });
    expect(secure.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('the JSON API reads need the token too (pings stay open, as on Healthchecks.io)', async () => {
    const anonymous = await fetch(`${base}/api/v1/status`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { message: string } }).error.message).toMatch(/listens beyond loopback .*Bearer <token>/);
    const withToken = await fetch(`${base}/api/v1/status`, { headers: { authorization: `Bearer ${d.token}` } });
    expect(withToken.status).toBe(200);
    expect(((await withToken.json()) as { jobs: { name: string }[] }).jobs.map((j) => j.name)).toContain('hello');
    expect((await fetch(`${base}/ping/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('after ten wrong tokens, /login answers 429 with Retry-After, even to the right token', async () => {
    const attempt = (token: string) =>
      fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: new URLSearchParams({ token }) });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await attempt(`wrong-${i}`)).status);
    // One wrong token was already tried in this daemon's first test.
    expect(statuses.indexOf(429)).toBeGreaterThanOrEqual(9);
    expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true);
    const right = await attempt(d.token);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
