/**
 * The HTTP API on a real socket on 127.0.0.1: reading is open, changing state needs the bearer token, errors say
 * what to fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { listen } from '../../src/http/server.ts';
import { Hono } from 'hono';

let t: TestDaemon;
let token: string;

beforeAll(async () => {
  t = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  hello:
    command: echo hello
  later:
    command: "true"
    schedule: "0 0 1 1 *"
`);
  token = readFileSync(join(t.config.stateDir, 'api-token'), 'utf8').trim();
});
afterAll(async () => t.cleanup());

const api = (path: string, init: RequestInit = {}) => fetch(`${t.url}/api/v1${path}`, init);
const auth = { authorization: `Bearer ${'x'}` };

describe('HTTP API', () => {
  it('writes the generated API token with mode 0600', () => {
    expect(statSync(join(t.config.stateDir, 'api-token')).mode & 0o777).toBe(0o600);
    expect(token.length).toBeGreaterThanOrEqual(32);
  });

  it('/healthz answers 200 with no reasons while the daemon is healthy', async () => {
    const response = await fetch(`${t.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, reasons: [] });
  });

  it('status has the documented shape', async () => {
    const status = (await (await api('/status')).json()) as Record<string, any>;
    expect(status.daemon).toMatchObject({ pid: process.pid, node: t.config.node, leader: true });
    expect(status.jobs.map((j: { name: string }) => j.name)).toEqual(['hello', 'later']);
    const later = status.jobs[1];
    expect(later).toMatchObject({ kind: 'scheduled', state: 'idle', paused: false, last_run: null });
    expect(new Date(later.next_run_at).getUTCMonth()).toBe(0);
    expect(status.jobs[0]).toMatchObject({ kind: 'triggered', next_run_at: null });
  });

  it('refuses state changes without the token, and says how to get one', async () => {
    const none = await api('/jobs/hello/runs', { method: 'POST' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.message).toMatch(/Bearer <token>.*api-token/);
    const wrong = await api('/jobs/hello/runs', { method: 'POST', headers: auth });
    expect(wrong.status).toBe(401);
  });

  it('starts a run with the token, and long-polls it to its end', async () => {
    const response = await api('/jobs/hello/runs', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(202);
    const { run } = (await response.json()) as { run: { id: string; status: string; trigger: string } };
    expect(run).toMatchObject({ status: 'running', trigger: 'api' });
    const ended = (await (await api(`/runs/${run.id}?wait=10000`)).json()) as { status: string; exit_code: number };
    expect(ended).toMatchObject({ status: 'succeeded', exit_code: 0 });
    const history = (await (await api('/jobs/hello/runs?limit=5')).json()) as Array<{ id: string }>;
    expect(history[0]?.id).toBe(run.id);
  });

  it('pauses and resumes through the API', async () => {
    const headers = { authorization: `Bearer ${token}` };
    expect((await api('/jobs/later/pause', { method: 'POST', headers })).status).toBe(200);
    expect((await t.daemon.store.getJobState('later')).paused).toBe(true);
    expect((await api('/jobs/later/resume', { method: 'POST', headers })).status).toBe(200);
    expect((await t.daemon.store.getJobState('later')).paused).toBe(false);
  });

  it('names the configured jobs when asked for an unknown one, and rejects bad parameters', async () => {
    const unknown = await api('/jobs/nope/runs');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'unknown_job', message: "no job named 'nope' (configured jobs: hello, later)" } });
    const bad = await api('/jobs/hello/runs?limit=abc');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toBe("query parameter limit must be a whole number from 1 to 10000; got 'abc'");
    expect((await api('/runs/does-not-exist')).status).toBe(404);
  });

  it('reports a port in use as one clear line', async () => {
    const port = Number(new URL(t.url).port);
    await expect(listen(new Hono(), '127.0.0.1', port)).rejects.toThrow(
      `127.0.0.1:${port} is already in use (another nightshift daemon? try \`nightshift status\`); set http.listen to a free port`,
    );
  });
});
