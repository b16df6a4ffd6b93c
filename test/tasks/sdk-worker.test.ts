/**
 * `tasks.work` in a real worker process against a real daemon: a handler's error is a failed attempt, a
 * RetryAfterError pauses the queue without spending one, `stop()` lets the task in hand finish before it returns, and
 * a worker takes its next task from the completion of the last (one request per task, not two).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { killFixtures, spawnFixture } from './helpers.ts';

let t: TestDaemon;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  t = await startTestDaemon(`
shutdown_grace: 500ms
queues:
  q: { concurrency: 2, retries: 2, lease: 30s }
jobs:
  noop: { command: "true" }
`);
  env = { NIGHTSHIFT_URL: t.url, NIGHTSHIFT_TOKEN: t.daemon.apiToken() };
});
afterEach(async () => {
  await killFixtures();
  await t.cleanup();
});

const taskState = (id: string) => waitFor(() => t.daemon.store.getTask(id), 1_000, id);

describe('tasks.work', () => {
  it("records a handler's error as a failed attempt, retried later", async () => {
    const { id } = await t.daemon.tasks.service.enqueue('q', { payload: { fail: 'upstream said 500' } });
    spawnFixture('sdk-worker.ts', ['q', '1', '0'], env);
    const failed = await waitFor(async () => {
      const task = await t.daemon.store.getTask(id);
      return task?.last_error ? task : null;
    }, 10_000, 'the failure recorded');
    expect(failed).toMatchObject({ last_error: 'upstream said 500', attempt: 1 });
    expect(['queued', 'running']).toContain(failed.state);
  });

  it('a RetryAfterError pauses the queue and gives the attempt back', async () => {
    const { id } = await t.daemon.tasks.service.enqueue('q', { payload: { retryAfter: '1h' } });
    spawnFixture('sdk-worker.ts', ['q', '1', '0'], env);
    const waiting = await waitFor(async () => {
      const task = await t.daemon.store.getTask(id);
      return task?.last_error === 'HTTP 429' ? task : null;
    }, 10_000, 'the 429 recorded');
    expect(waiting).toMatchObject({ state: 'queued', attempt: 0 });
    expect((await t.daemon.store.getQueueState('q')).paused_until).toBe(waiting.run_at);
  });

  it('stop() finishes the task in hand, reports it, and claims nothing more', async () => {
    const service = t.daemon.tasks.service;
    const { id } = await service.enqueue('q', { payload: { n: 1 } });
    const worker = spawnFixture('sdk-worker.ts', ['q', '1', '500'], env);
    await worker.until('the task started', (lines) => lines.some((l) => l.event === 'start' && l.id === id));
    worker.send('stop');
    const later = await service.enqueue('q', { payload: { n: 2 } });
    await worker.until('stopped', (lines) => lines.some((l) => l.event === 'stopped'));
    expect(await taskState(id)).toMatchObject({ state: 'done' });
    expect(await taskState(later.id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect(await worker.exited).toBe(0);
  });

  it('takes its next task from the completion of the last: one claim request for a whole backlog', async () => {
    const service = t.daemon.tasks.service;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await service.enqueue('q', { payload: { n: i } })).id);
    // A real HTTP proxy on 127.0.0.1 between the worker and the daemon, counting what the worker asks.
    const asked: string[] = [];
    const target = new URL(t.url);
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const next = req.url?.endsWith('/complete') && (JSON.parse(body.toString() || '{}') as { next?: unknown }).next !== undefined;
        asked.push(`${req.method} ${req.url?.replace(/\/tasks\/[^/]+/, '/tasks/ID')}${next ? ' +next' : ''}`);
        const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as AddressInfo).port;
      spawnFixture('sdk-worker.ts', ['q', '1', '0'], { ...env, NIGHTSHIFT_URL: `http://127.0.0.1:${port}` });
      await waitFor(async () => {
        const tasks = await Promise.all(ids.map((id) => t.daemon.store.getTask(id)));
        return tasks.every((task) => task?.state === 'done');
      }, 15_000, 'every task done');
      const completes = asked.filter((a) => a === 'POST /api/v1/tasks/ID/complete +next');
      expect(completes).toHaveLength(10);
      // The first claim, and after the last task a long-poll claim for more: never one per task.
      expect(asked.filter((a) => a.endsWith('/claim')).length).toBeLessThanOrEqual(2);
    } finally {
      await killFixtures();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
