/**
 * The coordination API (docs/coordination.md): shared state, named locks and upstream freshness — what the SDK's
 * `state`, `lock` and `upstream` call, and what a Python, Ruby or bash job reaches with curl.
 *
 *   GET  /state                 keys, with versions            GET  /locks               locks held now
 *   GET  /state/:key            { key, value, version, … }     GET  /locks/:name         who holds it (404: free)
 *   PUT  /state/:key            { value, version? }            POST /locks/:name         { ttl?, wait?, pid? } → lock
 *   GET  /state/:key/log        audit log, newest first        POST /locks/:name/renew   { token, ttl? }
 *   GET  /upstream/:job?within=2h  freshness                   POST /locks/:name/release { token }
 *
 * Writes need a token (app.ts): the API token acts as the operator; a run's own token (NIGHTSHIFT_RUN_TOKEN) acts as
 * that run — its writes are audited under its job and id, and its locks end with it.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { COORDINATION } from '../config/defaults.ts';
import { parseDuration, parseSize } from '../config/units.ts';
import { isCoordinationError, type CoordinationErrorCode } from '../coordination/errors.ts';
import type { LockClaimant } from '../coordination/lock-service.ts';
import type { StateAuthor } from '../store/types.ts';
import type { ControlPlane } from './control-plane.ts';
import { ApiError, unknownJob } from './errors.ts';
import { callerOf } from './auth.ts';
import { intParam, jsonBody } from './params.ts';

const MAX_REQUEST_WAIT_MS = parseDuration(COORDINATION.lock.max_request_wait);
const DEFAULT_TTL_MS = parseDuration(COORDINATION.lock.ttl);
const DEFAULT_WAIT_MS = parseDuration(COORDINATION.lock.wait);
/** The value's own limit is checked exactly by the steward; this only stops a body far beyond it being read at all. */
const MAX_STATE_BODY_BYTES = parseSize(COORDINATION.state.max_value_size) + 64 * 1024;

const STATUS: Record<CoordinationErrorCode, 400 | 404 | 409 | 413> = {
  bad_request: 400,
  unknown_key: 404,
  conflict: 409,
  too_large: 413,
  not_held: 409,
};

export function coordinationRoutes(plane: ControlPlane): Hono {
  const api = new Hono();
  const { state, locks } = plane.coordination;

  api.get('/state', guard(async (c) => c.json(await state.keys(intParam(c, 'limit', 1000, 1, 10_000)))));

  api.get('/state/:key', guard(async (c) => {
    const entry = await state.get(param(c, 'key'));
    if (entry === null) throw new ApiError(404, 'unknown_key', `state key ${param(c, 'key')} has never been written (state set creates it)`);
    return c.json(entry);
  }));

  api.put(
    '/state/:key',
    bodyLimit({
      maxSize: MAX_STATE_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'too_large', `the body is over the ${COORDINATION.state.max_value_size} limit of a state value`);
      },
    }),
    guard(async (c) => {
      const by = await authorOf(plane, c);
      const body = await jsonBody(c, '{"value": {"count": 1}, "version": 3}');
      if (!('value' in body)) throw new ApiError(400, 'bad_request', 'the body needs a value: {"value": …, "version": N} (version is optional)');
      const version = body.version ?? null;
      if (version !== null && typeof version !== 'number') throw new ApiError(400, 'bad_request', `version must be a whole number; got ${JSON.stringify(version)}`);
      return c.json(await state.set(param(c, 'key'), body.value, { version, by }));
    }),
  );

  api.get('/state/:key/log', guard(async (c) => c.json(await state.log(param(c, 'key'), intParam(c, 'limit', 100, 1, 10_000)))));

  api.get('/locks', guard(async (c) => c.json(await locks.list())));

  api.get('/locks/:name', guard(async (c) => {
    const held = await locks.get(param(c, 'name'));
    if (held === null) throw new ApiError(404, 'not_held', `lock ${param(c, 'name')} is free`);
    return c.json(held);
  }));

  api.post('/locks/:name', guard(async (c) => {
    const name = param(c, 'name');
    const body = await jsonBody(c, '{"ttl": "30s", "wait": "10s"}');
    const ttlMs = durationField(body.ttl, 'ttl', DEFAULT_TTL_MS);
    const waitMs = Math.min(durationField(body.wait, 'wait', DEFAULT_WAIT_MS), MAX_REQUEST_WAIT_MS);
    const claimant = await claimantOf(plane, c, body.pid);
    const outcome = await locks.acquire(name, claimant, { ttlMs, waitMs, signal: c.req.raw.signal });
    if (outcome.lock !== null) return c.json(outcome.lock);
    const by = outcome.heldBy.run_id ? `run ${outcome.heldBy.run_id}` : `pid ${outcome.heldBy.pid}`;
    return c.json(
      {
        error: { code: 'lock_held', message: `lock ${name} is held by ${by} on ${outcome.heldBy.node} until ${outcome.heldBy.expires_at ?? 'released'}` },
        held_by: outcome.heldBy,
      },
      409,
    );
  }));

  api.post('/locks/:name/renew', guard(async (c) => {
    const body = await jsonBody(c, '{"token": "…", "ttl": "30s"}');
    return c.json(await locks.renew(param(c, 'name'), tokenField(body), durationField(body.ttl, 'ttl', DEFAULT_TTL_MS)));
  }));

  api.post('/locks/:name/release', guard(async (c) => {
    const body = await jsonBody(c, '{"token": "…"}');
    const name = param(c, 'name');
    return c.json({ name, released: await locks.release(name, tokenField(body)) });
  }));

  api.get('/upstream/:job', guard(async (c) => {
    const job = param(c, 'job');
    const given = c.req.query('within');
    const withinMs = given !== undefined ? durationField(given, 'within', 0) : await callersMaxAge(plane, c, job);
    if (withinMs === null) {
      throw new ApiError(400, 'bad_request', `give the window as ?within=2h (how recent a success of ${job} must be)`);
    }
    const freshness = await plane.coordination.freshness(job, withinMs);
    if (freshness === null) throw unknownJob(job, Object.keys(plane.config().jobs));
    return c.json(freshness);
  }));

  return api;
}

/** A path parameter of the route (the wrapper in `guard` hides the route's typed params). */
function param(c: Context, name: 'key' | 'name' | 'job'): string {
  return c.req.param(name) ?? '';
}

/** Turns coordination's refusals into API errors with their status. */
function guard(handler: (c: Context) => Promise<Response>): (c: Context) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (isCoordinationError(error)) throw new ApiError(STATUS[error.code], error.code, error.message);
      throw error;
    }
  };
}

/** Who writes: a run (its job and id, audited), or the operator (the API token). */
async function authorOf(plane: ControlPlane, c: Context): Promise<StateAuthor> {
  const caller = callerOf(plane, c);
  if (caller === null || caller.kind === 'api') return { job: null, run_id: null };
  const run = await runningRun(plane, caller.runId);
  return { job: run.job, run_id: run.id };
}

/**
 * The holder of a new lock. A run's lock names the run (it ends with it). `pid` names the process holding it (the SDK
 * and `nightshift lock` send their own), so it is reclaimed as soon as that process is gone; without one (or one the
 * daemon cannot see), the daemon stands in for the process and only the ttl (and the run's end) frees it.
 */
async function claimantOf(plane: ControlPlane, c: Context, pid: unknown): Promise<LockClaimant> {
  const caller = callerOf(plane, c);
  const runId = caller?.kind === 'run' ? (await runningRun(plane, caller.runId)).id : null;
  if (pid === undefined || pid === null) return plane.coordination.daemonClaimant(runId);
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
    throw new ApiError(400, 'bad_request', `pid must be the process id holding the lock (a whole number); got ${JSON.stringify(pid)}`);
  }
  const claimant = await plane.coordination.processClaimant(runId, pid);
  // A pid the daemon cannot see (a job in a container has its own pid namespace) cannot be probed: the ttl and the
  // run's end still free the lock.
  return claimant === 'invalid' ? plane.coordination.daemonClaimant(runId) : claimant;
}

/** Without `?within=`: the `max_age` of the calling run's job, when its `after:` names this upstream. */
async function callersMaxAge(plane: ControlPlane, c: Context, upstream: string): Promise<number | null> {
  const caller = callerOf(plane, c);
  if (caller?.kind !== 'run') return null;
  const run = await plane.store.getRun(caller.runId);
  const after = run ? plane.config().jobs[run.job]?.after : null;
  return after?.job === upstream ? after.maxAgeMs : null;
}

async function runningRun(plane: ControlPlane, runId: string) {
  const run = await plane.store.getRun(runId);
  if (run?.status !== 'running') {
    throw new ApiError(409, 'not_running', `run ${runId} is ${run?.status ?? 'unknown'}, not running: a run's token acts for it only while it runs`);
  }
  return run;
}

/** A duration given as text (`30s`) or as a number of seconds; `fallback` when absent. */
function durationField(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
  if (typeof value === 'string') {
    try {
      return parseDuration(value);
    } catch {
      // falls through to the message below
    }
  }
  throw new ApiError(400, 'bad_request', `${field} must be a duration like 30s, 10m or 2h (or a number of seconds); got ${JSON.stringify(value)}`);
}

function tokenField(body: Record<string, unknown>): string {
  if (typeof body.token !== 'string' || body.token === '') {
    throw new ApiError(400, 'bad_request', 'the body needs the token the lock was taken with: {"token": "…"}');
  }
  return body.token;
}

