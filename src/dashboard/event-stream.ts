/**
 * Server-Sent Events, under /api/v1 so the CLI and scripts can use them as the dashboard does:
 *
 * - `GET /api/v1/events`: every DaemonEvent as it happens; the SSE `event:` is its type (`run.started`, `run.ended`,
 *   `incident.opened` …) and `data:` the JSON event. Nothing is polled: the stream waits on the event hub, with a
 *   comment line every DASHBOARD.sse_heartbeat so proxies keep the connection.
 * - `GET /api/v1/runs/:id/output`: a run's output from its first line, then live until the run ends (`line` events
 *   `{ time, stream, text, html }`, `html` already escaped; then one `end` event with the run). A run that already
 *   ended sends what it printed and `end`.
 *
 * Reading is open where the dashboard's is (loopback), else it needs the session cookie or the bearer token.
 */
import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { DASHBOARD } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import type { ControlPlane, DaemonEvent } from '../http/control-plane.ts';
import { ApiError } from '../http/errors.ts';
import { FINISHED_STATUSES, type Run } from '../store/types.ts';
import { mayRead } from './access.ts';
import { followRunOutput, readRunOutput, toLine } from './run-output.ts';

export function eventRoutes(plane: ControlPlane): Hono {
  const api = new Hono();
  const heartbeatMs = parseDuration(DASHBOARD.sse_heartbeat);

  api.use('*', async (c, next) => {
    if (!mayRead(plane, c)) throw new ApiError(401, 'unauthorized', 'the daemon listens beyond loopback: send Authorization: Bearer <token>, or sign in on the dashboard');
    await next();
  });

  api.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      const queue: DaemonEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = plane.eventHub.subscribe((event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => wake?.());
      try {
        await stream.write(': connected\n\n');
        while (!stream.aborted) {
          const event = queue.shift();
          if (event) {
            await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
            continue;
          }
          await waitOrBeat(stream, heartbeatMs, (w) => (wake = w));
          wake = null;
        }
      } finally {
        unsubscribe();
      }
    }),
  );

  api.get('/runs/:id/output', async (c) => {
    const run = await plane.store.getRun(c.req.param('id'));
    if (!run) throw new ApiError(404, 'unknown_run', `no run with id '${c.req.param('id')}'`);
    return streamRunOutput(c, plane, run, heartbeatMs);
  });

  return api;
}

/** Resolves on the next event (`setWake` hands over the resolver), on abort, or after `ms` with a heartbeat comment. */
async function waitOrBeat(stream: SSEStreamingApi, ms: number, setWake: (wake: () => void) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const beat = await new Promise<boolean>((resolve) => {
    setWake(() => resolve(false));
    timer = setTimeout(() => resolve(true), ms);
  });
  clearTimeout(timer);
  if (beat && !stream.aborted) await stream.write(': keep-alive\n\n');
}

function streamRunOutput(c: Context, plane: ControlPlane, run: Run, heartbeatMs: number): Response {
  const stateDir = plane.config().stateDir;
  return streamSSE(c, async (stream) => {
    const send = (line: ReturnType<typeof toLine>) => stream.writeSSE({ event: 'line', data: JSON.stringify(line) });
    if (FINISHED_STATUSES.includes(run.status) || run.status === 'queued') {
      if (run.status !== 'queued') for (const line of (await readRunOutput(stateDir, run.job, run.id, '')).lines) await send(line);
      await stream.writeSSE({ event: 'end', data: JSON.stringify({ run }) });
      return;
    }
    const stop = new AbortController();
    stream.onAbort(() => stop.abort());
    // The follower polls the job's active file only while someone watches a running run; it ends with the run.
    const unsubscribe = plane.eventHub.subscribe((event) => {
      if (event.type === 'run.ended' && event.run.id === run.id) setTimeout(() => stop.abort(), 600); // its last lines first
    });
    const beat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => stop.abort()), heartbeatMs);
    try {
      // The run may have ended between reading it and subscribing.
      const now = await plane.store.getRun(run.id);
      if (now && FINISHED_STATUSES.includes(now.status)) setTimeout(() => stop.abort(), 600);
      for await (const record of followRunOutput(stateDir, run.job, run.id, stop.signal)) await send(toLine(record));
      if (!stream.aborted) await stream.writeSSE({ event: 'end', data: JSON.stringify({ run: await plane.store.getRun(run.id) }) });
    } finally {
      clearInterval(beat);
      unsubscribe();
    }
  });
}
