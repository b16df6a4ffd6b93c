/**
 * The task-queue API (docs/tasks.md), what the SDK and `nightshift task …` call and what any language reaches with
 * curl. Reading is open; writing needs the API token or a run's own token (NIGHTSHIFT_RUN_TOKEN), and a run acts only
 * as itself: what it claims belongs to it, and it can complete, fail or extend only its own claims.
 *
 *   GET  /queues                      every declared queue: settings, counts, pause, retry budget
 *   GET  /queues/:queue               one of them
 *   POST /queues/:queue/tasks         enqueue { payload, priority?, run_at? | delay?, key? } → 201 { id } | 200 { id, duplicate }
 *   GET  /queues/:queue/tasks         ?state=queued|running|done|dead&limit=N, newest first
 *   POST /queues/:queue/claim         { lease?, wait? } → the task with its `token`, or null
 *   GET  /tasks/:id
 *   POST /tasks/:id/extend            { lease?, token? }
 *   POST /tasks/:id/complete          { result?, token?, next?: { queue, lease? } } → the task; with next, also
 *                                     `next`: a task claimed in the same step (with its token), or null
 *   POST /tasks/:id/fail              { error?, retry_after?, token? }
 *   POST /tasks/:id/requeue           a dead task back to its queue
 *
 * Durations are strings like `30s` or a number of seconds.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { parseDuration } from '../config/units.ts';
import { TASK_STATES, type TaskState } from '../store/types.ts';
import { MAX_WAIT_MS } from '../tasks/task-service.ts';
import { claimedJson, TaskError, taskJson, type TaskActor, type TaskErrorCode } from '../tasks/types.ts';
import { callerOf } from './auth.ts';
import type { ControlPlane } from './control-plane.ts';
import { ApiError } from './errors.ts';
import { intParam, jsonBody } from './params.ts';

const STATUS: Record<TaskErrorCode, ContentfulStatusCode> = {
  unknown_queue: 404,
  unknown_task: 404,
  lease_lost: 409,
  bad_request: 400,
  not_running: 409,
  not_requeueable: 409,
};

export function taskRoutes(plane: ControlPlane): Hono {
  const api = new Hono();
  const tasks = () => plane.tasks.service;

  api.onError((error, c) => {
    if (error instanceof TaskError) return c.json({ error: { code: error.code, message: error.message } }, STATUS[error.code]);
    throw error;
  });

  api.get('/queues', async (c) => c.json(await tasks().queues()));
  api.get('/queues/:queue', async (c) => c.json(await tasks().queueSummary(c.req.param('queue'))));

  api.post('/queues/:queue/tasks', async (c) => {
    const body = await jsonBody(c, '{"payload": {"url": "https://example.com"}, "key": "example-1"}');
    if (!('payload' in body)) throw badRequest('payload is required (the task\'s JSON; null for none), e.g. {"payload": {"url": "…"}}');
    const priority = body.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) throw badRequest(`priority must be a whole number (higher runs first); got ${JSON.stringify(priority)}`);
    const key = body.key ?? null;
    if (key !== null && typeof key !== 'string') throw badRequest(`key must be a string (an idempotency key); got ${JSON.stringify(key)}`);
    const result = await tasks().enqueue(c.req.param('queue'), { payload: body.payload, priority, key, runAtMs: runAtOf(body) });
    return c.json(result, result.duplicate ? 200 : 201);
  });

  api.get('/queues/:queue/tasks', async (c) => {
    const state = c.req.query('state');
    if (state !== undefined && !TASK_STATES.includes(state as TaskState)) throw badRequest(`state must be one of ${TASK_STATES.join(', ')}; got '${state}'`);
    const list = await tasks().list(c.req.param('queue'), state === undefined ? undefined : [state as TaskState], intParam(c, 'limit', 100, 1, 10_000));
    return c.json(list.map(taskJson));
  });

  api.post('/queues/:queue/claim', async (c) => {
    const body = await jsonBody(c, '{"lease": "30s", "wait": "20s"}');
    const leaseMs = durationOf(body.lease, 'lease');
    const waitMs = durationOf(body.wait, 'wait') ?? 0;
    if (waitMs > MAX_WAIT_MS) throw badRequest(`wait is at most ${MAX_WAIT_MS / 1000}s; long-poll again for longer`);
    const task = await tasks().claim(actorOf(plane, c), c.req.param('queue'), { ...(leaseMs !== undefined ? { leaseMs } : {}), waitMs, signal: c.req.raw.signal });
    return c.json(task === null ? null : claimedJson(task));
  });

  api.get('/tasks/:id', async (c) => c.json(taskJson(await tasks().get(c.req.param('id')))));

  api.post('/tasks/:id/extend', async (c) => {
    const body = await jsonBody(c, '{"lease": "30s"}');
    const task = await tasks().extend(actorOf(plane, c), c.req.param('id'), durationOf(body.lease, 'lease'), tokenOf(body));
    return c.json(taskJson(task));
  });

  api.post('/tasks/:id/complete', async (c) => {
    const body = await jsonBody(c, '{"result": {"ok": true}, "next": {"queue": "articles"}}');
    const next = nextOf(body.next);
    if (next === undefined) return c.json(taskJson(await tasks().complete(actorOf(plane, c), c.req.param('id'), body.result, tokenOf(body))));
    const step = await tasks().completeAndClaim(actorOf(plane, c), c.req.param('id'), body.result, tokenOf(body), next);
    return c.json({ ...taskJson(step.task), next: step.next === null ? null : claimedJson(step.next) });
  });

  api.post('/tasks/:id/fail', async (c) => {
    const body = await jsonBody(c, '{"error": "HTTP 429", "retry_after": "2m"}');
    const error = body.error ?? 'failed';
    if (typeof error !== 'string') throw badRequest(`error must be a string saying what went wrong; got ${JSON.stringify(error)}`);
    const retryAfterMs = durationOf(body.retry_after ?? body.retryAfter, 'retry_after') ?? null;
    const task = await tasks().fail(actorOf(plane, c), c.req.param('id'), { error: error.slice(0, 2000), retryAfterMs, token: tokenOf(body) });
    return c.json(taskJson(task));
  });

  api.post('/tasks/:id/requeue', async (c) => c.json(taskJson(await tasks().requeue(c.req.param('id')))));

  return api;
}

/** The caller of a write (the token middleware in app.ts has already refused writes that prove nobody). */
function actorOf(plane: ControlPlane, c: Context): TaskActor {
  const caller = callerOf(plane, c);
  if (caller === null) throw new ApiError(401, 'unauthorized', 'this needs Authorization: Bearer <token> (the API token, or NIGHTSHIFT_RUN_TOKEN inside a run)');
  return caller;
}

function badRequest(message: string): ApiError {
  return new ApiError(400, 'bad_request', message);
}

/** A duration field: `30s` or a number of seconds; undefined when absent. */
function durationOf(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  let ms = NaN;
  try {
    ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value) : NaN;
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms < 0) throw badRequest(`${field} must be a duration like 30s or 5m, or a number of seconds; got ${JSON.stringify(value)}`);
  return ms;
}

/** `run_at` (an ISO-8601 time) or `delay` (a duration from now); undefined: due now. */
function runAtOf(body: Record<string, unknown>): number | undefined {
  const delay = durationOf(body.delay, 'delay');
  if (body.run_at === undefined || body.run_at === null) return delay === undefined ? undefined : Date.now() + delay;
  const at = typeof body.run_at === 'string' ? Date.parse(body.run_at) : NaN;
  if (Number.isNaN(at)) throw badRequest(`run_at must be an ISO-8601 time like 2026-01-01T09:00:00Z (or give delay: "10m"); got ${JSON.stringify(body.run_at)}`);
  return at;
}

/** `next` on a complete: the queue to claim from in the same step, and its lease; undefined when not asked. */
function nextOf(value: unknown): { queue: string; leaseMs?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  const next = value as { queue?: unknown; lease?: unknown };
  if (typeof value !== 'object' || Array.isArray(value) || typeof next.queue !== 'string' || next.queue === '') {
    throw badRequest(`next must name the queue to claim the next task from, like {"queue": "articles", "lease": "30s"}; got ${JSON.stringify(value)}`);
  }
  const leaseMs = durationOf(next.lease, 'next.lease');
  return leaseMs === undefined ? { queue: next.queue } : { queue: next.queue, leaseMs };
}

function tokenOf(body: Record<string, unknown>): string | null {
  const token = body.token ?? null;
  if (token !== null && typeof token !== 'string') throw badRequest('token must be the string a claim returned');
  return token;
}

