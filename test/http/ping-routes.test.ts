/**
 * The Healthchecks.io-compatible ping routes on a real socket on 127.0.0.1, backed by an in-memory PingIntake that
 * records what it is handed: every URL form and method, HC's answers for bad input, the body limit, a fuzz run that
 * must never produce a 5xx, and the two real clients — the crontab curl line and runitor — end to end.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Hono } from 'hono';
import { listen } from '../../src/http/server.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { runitor } from '../helpers/runitor.ts';
import { MAX_DISCARDED_BODY_BYTES, pingRoutes } from '../../src/http/ping-routes.ts';
import type { PingIntake, PingOutcome, PingRequest } from '../../src/http/ping-intake.ts';

const U = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const OTHER = '07c2f548-9850-4b27-af5d-6c9dc157ec02';
const KEY = 'fqOOd6-F4MMNuCEnzTU01w';
const RID = '123e4567-e89b-12d3-a456-426614174000';

interface Call { by: 'uuid' | 'slug'; id: string; ping: PingRequest; create: boolean }

/** Knows one uuid and one slug, records every call, and throws for the next `failures` calls (the store is down). */
class MemoryIntake implements PingIntake {
  readonly slugs = new Set<string>();
  readonly calls: Call[] = [];
  failures = 0;
  reset(): void {
    this.slugs.clear();
    this.slugs.add('backup');
    this.calls.length = 0;
    this.failures = 0;
  }
  async pingByUuid(uuid: string, ping: PingRequest): Promise<PingOutcome> {
    this.take({ by: 'uuid', id: uuid, ping, create: false });
    return uuid === U ? 'ok' : 'not_found';
  }
  async pingBySlug(slug: string, ping: PingRequest, create: boolean): Promise<PingOutcome> {
    this.take({ by: 'slug', id: slug, ping, create });
    if (this.slugs.has(slug)) return 'ok';
    if (!create) return 'not_found';
    this.slugs.add(slug);
    return 'created';
  }
  private take(call: Call): void {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('database is locked');
    }
    this.calls.push(call);
  }
}

interface Seen { method: string; url: string; headers: Record<string, string>; status: number }

/** Mounts the routes at /ping as the daemon's app does, behind a middleware that logs each request and its status. */
async function startPingServer(bodyLimitBytes: number) {
  const intake = new MemoryIntake();
  const seen: Seen[] = [];
  const intakeErrors: unknown[] = [];
  let key: string | null = KEY;
  const root = new Hono();
  root.use('*', async (c, next) => {
    const entry: Seen = { method: c.req.method, url: c.req.url, headers: Object.fromEntries(c.req.raw.headers), status: 0 };
    seen.push(entry);
    await next();
    entry.status = c.res.status;
  });
  root.route('/ping', pingRoutes(intake, { bodyLimitBytes, pingKey: () => key, onIntakeError: (e) => intakeErrors.push(e) }));
  const server = await listen(root, '127.0.0.1', 0);
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    server,
    intake,
    seen,
    intakeErrors,
    setKey: (next: string | null) => void (key = next),
    reset() {
      key = KEY;
      seen.length = 0;
      intakeErrors.length = 0;
      intake.reset();
    },
  };
}
type Harness = Awaited<ReturnType<typeof startPingServer>>;

let h: Harness;
let small: Harness; // a 2,000-byte body limit
const consoleError = vi.spyOn(console, 'error');
beforeAll(async () => {
  [h, small] = await Promise.all([startPingServer(10_000), startPingServer(2_000)]);
});
afterAll(async () => Promise.all([h.server.close(), small.server.close()]));
beforeEach(() => {
  h.reset();
  small.reset();
  consoleError.mockClear();
});
afterEach(() => {
  // "Never an exception": nothing reached hono's or node-server's error logging.
  expect(consoleError).not.toHaveBeenCalled();
});

const hit = (path: string, init?: RequestInit) => fetch(h.url + path, init);

describe('every URL form × method is a ping, answered as Healthchecks.io answers', () => {
  const forms: Array<[string, Omit<Call, 'ping' | 'create'>, PingRequest['kind'], number | null]> = [
    [`/ping/${U}`, { by: 'uuid', id: U }, 'success', null],
    [`/ping/${U}/`, { by: 'uuid', id: U }, 'success', null],
    [`/ping/${U}/start`, { by: 'uuid', id: U }, 'start', null],
    [`/ping/${U}/fail`, { by: 'uuid', id: U }, 'fail', null],
    [`/ping/${U}/log`, { by: 'uuid', id: U }, 'log', null],
    [`/ping/${U}/0`, { by: 'uuid', id: U }, 'exit', 0],
    [`/ping/${U}/255`, { by: 'uuid', id: U }, 'exit', 255],
    [`/ping/${KEY}/backup`, { by: 'slug', id: 'backup' }, 'success', null],
    [`/ping/${KEY}/backup/start`, { by: 'slug', id: 'backup' }, 'start', null],
    [`/ping/${KEY}/backup/fail`, { by: 'slug', id: 'backup' }, 'fail', null],
    [`/ping/${KEY}/backup/log`, { by: 'slug', id: 'backup' }, 'log', null],
    [`/ping/${KEY}/backup/0`, { by: 'slug', id: 'backup' }, 'exit', 0],
    [`/ping/${KEY}/backup/42`, { by: 'slug', id: 'backup' }, 'exit', 42],
  ];
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  const withBody = new Set(['POST', 'PUT', 'PATCH']);
  it.each(forms.flatMap(([path, target, kind, exitCode]) => methods.map((m) => [m, path, target, kind, exitCode] as const)))(
    '%s %s',
    async (method, path, target, kind, exitCode) => {
      const response = await hit(path, { method, ...(withBody.has(method) ? { body: 'backup done\n', headers: { 'content-type': 'text/plain' } } : {}) });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(method === 'HEAD' ? '' : 'OK');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('ping-body-limit')).toBe('10000');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('cache-control')).toContain('no-cache');
      const body = withBody.has(method) ? 'backup done\n' : null;
      expect(h.intake.calls).toEqual([{ ...target, ping: { kind, exitCode, rid: null, body }, create: false }]);
    },
  );
});

describe('bad input gets HC’s answer and reaches no intake', () => {
  it.each<[string, string, number, string]>([
    ['unknown check', `/ping/${OTHER}`, 404, 'not found'],
    ['malformed uuid', '/ping/not-a-uuid', 404, 'not found'],
    ['bad uuid with a slash (HC test_it_handles_bad_uuid)', '/ping/not-uuid/', 404, 'not found'],
    ['uuid without hyphens', '/ping/07c2f54898504b27af5d6c9dc157ec02/', 404, 'not found'],
    ['uppercase uuid', `/ping/${U.toUpperCase()}`, 404, 'not found'],
    ['exit status 256', `/ping/${U}/256`, 400, 'invalid url format'],
    ['exit status of 20 digits', `/ping/${U}/99999999999999999999`, 400, 'invalid url format'],
    ['exit status abc (read as key <uuid> + slug abc)', `/ping/${U}/abc`, 404, 'not found'],
    ['exit status -1', `/ping/${U}/-1`, 404, 'not found'],
    ['trailing slash after an action', `/ping/${U}/start/`, 404, 'not found'],
    ['trailing slash on a slug URL', `/ping/${KEY}/backup/`, 404, 'not found'],
    ['unknown action', `/ping/${KEY}/backup/restart`, 404, 'not found'],
    ['slug with a dot', `/ping/${KEY}/back.up`, 404, 'not found'],
    ['slug with a space', `/ping/${KEY}/back%20up`, 404, 'not found'],
    ['slug with a non-ASCII letter', `/ping/${KEY}/b%C3%A4ckup`, 404, 'not found'],
    ['slug exit status 256', `/ping/${KEY}/backup/256`, 400, 'invalid url format'],
    ['wrong ping key', '/ping/wrong-key/backup', 404, 'not found'],
    ['wrong ping key, create=1', '/ping/wrong-key/new-job?create=1', 404, 'not found'],
    ['wrong ping key, bad exit status', '/ping/wrong-key/backup/256', 404, 'not found'],
    ['rid 12345 (HC test_it_handles_invalid_rid)', `/ping/${U}/start?rid=12345`, 400, 'invalid uuid format'],
    ['rid of 37 characters', `/ping/${U}/start?rid=684e2e73-017e-465f-8149-d70b7c5aaa490`, 400, 'invalid uuid format'],
    ['empty rid', `/ping/${U}?rid=`, 400, 'invalid uuid format'],
    ['no check at all', '/ping', 404, 'not found'],
    ['nothing after /ping/', '/ping/', 404, 'not found'],
  ])('%s: %s → %i', async (_what, path, status, text) => {
    const response = await hit(path, { method: 'POST', body: 'x' });
    expect([response.status, await response.text()]).toEqual([status, text]);
    expect(response.headers.get('access-control-allow-origin')).toBeNull(); // HC sets it only after a recorded ping
    expect(response.headers.get('ping-body-limit')).toBeNull();
    if (status === 404 && path.startsWith(`/ping/${OTHER}`)) return; // the intake was asked, and said not_found
    expect(h.intake.calls).toEqual([]);
  });

  it('an unknown slug is 404, and with create=1 (exactly "1") it is created: 201 "Created"', async () => {
    for (const query of ['', '?create=0', '?create=true']) {
      const response = await hit(`/ping/${KEY}/new-job${query}`);
      expect([response.status, await response.text()]).toEqual([404, 'not found']);
    }
    const created = await hit(`/ping/${KEY}/new-job/start?create=1&rid=${RID}`);
    expect([created.status, await created.text()]).toEqual([201, 'Created']);
    expect(created.headers.get('access-control-allow-origin')).toBe('*');
    expect(created.headers.get('ping-body-limit')).toBe('10000');
    expect(h.intake.calls.at(-1)).toEqual({ by: 'slug', id: 'new-job', create: true, ping: { kind: 'start', exitCode: null, rid: RID, body: null } });
    expect((await hit(`/ping/${KEY}/new-job?create=1`)).status).toBe(200); // it exists now
  });

  it('with the ping key disabled (null) every slug URL is 404 and reaches no intake', async () => {
    h.setKey(null);
    for (const path of [`/ping/${KEY}/backup`, `/ping/${KEY}/new-job?create=1`, '/ping/null/backup']) {
      expect((await hit(path)).status).toBe(404);
    }
    expect((await hit(`/ping/${U}`)).status).toBe(200); // uuid URLs need no key
    expect(h.intake.calls.map((c) => c.by)).toEqual(['uuid']);
  });

  it('a throwing intake answers 503 with a short text (clients retry), and the next ping goes through', async () => {
    h.intake.failures = 1;
    const failed = await hit(`/ping/${U}`);
    expect([failed.status, await failed.text()]).toEqual([503, 'temporarily unavailable, retry']);
    expect(h.intakeErrors).toEqual([new Error('database is locked')]);
    expect((await hit(`/ping/${U}`)).status).toBe(200);
  });
});

describe('rid and the request body', () => {
  it('passes the run id through, so a start pairs with its end (uppercase is stored lowercase)', async () => {
    await hit(`/ping/${U}/start?rid=${RID}`);
    await hit(`/ping/${U}/1?rid=${RID.toUpperCase()}`, { method: 'POST', body: 'failed' });
    expect(h.intake.calls.map((c) => [c.ping.kind, c.ping.exitCode, c.ping.rid])).toEqual([['start', null, RID], ['exit', 1, RID]]);
  });

  it('keeps a body of any content type as the log; an empty one is null; bad UTF-8 still pings', async () => {
    await hit(`/ping/${U}/log`, { method: 'POST', body: '{"rows": 12}', headers: { 'content-type': 'application/json' } });
    await hit(`/ping/${U}`, { method: 'POST', body: '' });
    await hit(`/ping/${U}`, { method: 'POST', body: new Uint8Array([0x48, 0x69, 0xe9, 0x21]) }); // HC test_it_accepts_bad_unicode
    expect(h.intake.calls.map((c) => c.ping.body)).toEqual(['{"rows": 12}', null, 'Hi\ufffd!']);
  });

  it('answers a 5 MB POST correctly and hands the intake exactly the first 10,000 bytes', async () => {
    const big = '0123456789abcdef'.repeat((5 * 1024 * 1024) / 16);
    const response = await hit(`/ping/${U}`, { method: 'POST', body: big, headers: { 'content-type': 'text/plain' } });
    expect([response.status, await response.text()]).toEqual([200, 'OK']);
    expect(h.intake.calls[0]?.ping.body).toBe(big.slice(0, 10_000));
  });

  it('reads and drops an endless upload only up to a cap, then answers (the body is never buffered whole)', async () => {
    const req = request(`${h.url}/ping/${U}/log`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    req.on('error', () => undefined); // destroying it below may report a hang-up; that is the point
    req.write(Buffer.alloc(10_000 + MAX_DISCARDED_BODY_BYTES + 65_536, 'a')); // and never end()
    const [response] = (await once(req, 'response')) as [IncomingMessage];
    response.resume();
    expect(response.statusCode).toBe(200);
    expect(req.writableEnded).toBe(false);
    req.destroy();
    expect(h.intake.calls[0]?.ping.body).toBe('a'.repeat(10_000));
  });

  it('records nothing for an upload the client abandons', async () => {
    const req = request(`${h.url}/ping/${U}`, { method: 'POST', headers: { 'content-length': '5000' } });
    req.on('error', () => undefined);
    req.write('x'.repeat(1_000));
    await waitFor(() => h.seen.length === 1, 5_000, 'the request to arrive');
    req.destroy();
    await waitFor(() => h.seen[0]?.status, 5_000, 'the handler to finish');
    expect(h.intake.calls).toEqual([]);
  });

  it('does not split a UTF-8 character at the limit', async () => {
    const response = await fetch(`${small.url}/ping/${U}`, { method: 'POST', body: `${'a'.repeat(1_999)}€ and more` });
    expect(response.headers.get('ping-body-limit')).toBe('2000');
    expect(small.intake.calls[0]?.ping.body).toBe('a'.repeat(1_999)); // € is 3 bytes; its first one is dropped
  });
});

it('fuzz: random paths, methods, queries and bodies never get a 5xx', async () => {
  let seed = 0x5eed;
  const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const pieces = [U, U.toUpperCase(), OTHER, KEY, 'backup', 'start', 'fail', 'log', '0', '255', '256', '007', '-1', '',
    '.', '..', '%', '%2F', '%zz', '%E2%82', '~', 'a b', 'é', '\\', ';', ':', '@', '*', '$', '[', ']', '9'.repeat(400)];
  const queries = ['', '?', `?rid=${RID}`, '?rid=12345', '?rid=%', '?create=1', '?create=1&rid=', '?&&==', `?rid=${RID}#x`];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const statuses = new Set<number>();
  for (let i = 0; i < 400; i += 1) {
    const segments = Array.from({ length: Math.floor(random() * 5) }, () => pick(pieces));
    const path = `/ping/${segments.join('/')}${pick(queries)}`.replace(/[^\x21-\xff]/g, encodeURIComponent);
    const method = pick(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND']);
    const body = method === 'POST' ? Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))) : null;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: h.port, path, method, agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
    statuses.add(status);
    expect(status, `${method} ${path}`).toBeLessThan(500);
  }
  agent.destroy();
  expect(h.intakeErrors).toEqual([]);
  expect([...statuses].every((s) => [200, 201, 400, 404].includes(s))).toBe(true);
});

describe('the crontab line: curl -fsS -m 10 --retry 5 -o /dev/null <url>', () => {
  const curl = (url: string, extra: string[] = []) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const args = ['-fsS', '-m', '10', '--retry', '5', ...extra, '-o', '/dev/null', url];
      const child = spawn('curl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it.each([
    [`/ping/${U}`, 'success', null],
    [`/ping/${U}/start`, 'start', null],
    [`/ping/${U}/fail`, 'fail', null],
    [`/ping/${U}/1`, 'exit', 1], // the `…/$?` form
    [`/ping/${KEY}/backup`, 'success', null],
  ] as const)('%s exits 0 and records a %s ping', async (path, kind, exitCode) => {
    expect(await curl(h.url + path)).toEqual({ code: 0, stderr: '' });
    expect(h.intake.calls.map((c) => [c.ping.kind, c.ping.exitCode, c.ping.body])).toEqual([[kind, exitCode, null]]);
    expect(h.seen[0]?.headers['user-agent']).toMatch(/^curl\//);
  });

  it('with --data-binary @file (HC docs/attaching_logs) a 5 MB log exits 0 and keeps the first 10,000 bytes', async () => {
    const log = join(await mkdtemp(join(tmpdir(), 'ping-')), 'backup.log');
    await writeFile(log, 'backup line\n'.repeat(440_000));
    expect(await curl(`${h.url}/ping/${U}`, ['--data-binary', `@${log}`])).toEqual({ code: 0, stderr: '' });
    expect(h.intake.calls[0]?.ping.body).toBe('backup line\n'.repeat(440_000).slice(0, 10_000));
    await rm(dirname(log), { recursive: true });
  });

  it('exits non-zero (22, HTTP error) for an unknown check, without retrying a 404', async () => {
    const { code, stderr } = await curl(`${h.url}/ping/${OTHER}`);
    expect(code).toBe(22);
    expect(stderr).toContain('404');
    expect(h.seen).toHaveLength(1);
  });

  it('retries a 503 from a failing store and succeeds (curl waits its own 1 s before the retry)', async () => {
    h.intake.failures = 1;
    expect((await curl(`${h.url}/ping/${U}`)).code).toBe(0);
    expect(h.seen.map((s) => s.status)).toEqual([503, 200]);
    expect(h.intake.calls).toHaveLength(1);
  });
});

describe('runitor, end to end', () => {
  const sent = (x: Harness) => x.seen.map((s) => `${s.method} ${s.url.slice(x.url.length)} → ${s.status}`);

  it('a successful command: start, then success with its output, paired by rid, with runitor’s exact headers', async () => {
    const { rid } = await runitor(`${h.url}/ping`, U, "printf 'fetched 12 rows\\n'; echo 'warn: slow' >&2");
    expect(sent(h)).toEqual([`POST /ping/${U}/start?rid=${rid} → 200`, `POST /ping/${U}?rid=${rid} → 200`]);
    expect(h.seen[0]?.headers).toMatchObject({ 'user-agent': expect.stringMatching(/^runitor\//), 'content-type': 'text/plain', 'content-length': '0' });
    expect(h.intake.calls.map((c) => c.ping)).toEqual([
      { kind: 'start', exitCode: null, rid, body: null },
      { kind: 'success', exitCode: null, rid, body: 'fetched 12 rows\nwarn: slow\n' },
    ]);
  });

  it('a failing command: the exit-code URL, and runitor’s note in the log', async () => {
    const { rid } = await runitor(`${h.url}/ping`, U, 'echo boom >&2; exit 3');
    expect(sent(h)[1]).toBe(`POST /ping/${U}/3?rid=${rid} → 200`);
    expect(h.intake.calls[1]?.ping).toEqual({ kind: 'exit', exitCode: 3, rid, body: 'boom\n\n[runitor] exit status 3' });
  });

  it('truncates its output to the Ping-Body-Limit it read from the start response', async () => {
    await runitor(`${small.url}/ping`, U, "head -c 30000 /dev/zero | tr '\\0' x");
    const body = small.intake.calls[1]?.ping.body ?? '';
    expect(body).toHaveLength(2_000);
    expect(body.endsWith('\n[runitor] Output truncated to last 2000 bytes.')).toBe(true);
  });

  it('retries the 503 of a failing store and then succeeds', async () => {
    h.intake.failures = 1;
    const { rid } = await runitor(`${h.url}/ping`, U, 'true', { backoffMs: 5 });
    expect(sent(h)).toEqual([`POST /ping/${U}/start?rid=${rid} → 503`, `POST /ping/${U}/start?rid=${rid} → 200`, `POST /ping/${U}?rid=${rid} → 200`]);
    expect(h.intake.calls.map((c) => c.ping.kind)).toEqual(['start', 'success']);
  });

  it('-create with a ping key and slug: 201 Created on the start, then 200', async () => {
    const { rid } = await runitor(`${h.url}/ping`, `${KEY}/nightly-report`, 'true', { create: true });
    expect(sent(h)).toEqual([
      `POST /ping/${KEY}/nightly-report/start?create=1&rid=${rid} → 201`,
      `POST /ping/${KEY}/nightly-report?create=1&rid=${rid} → 200`,
    ]);
  });
});
