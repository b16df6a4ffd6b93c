/**
 * What a running run reports about itself: heartbeats, outputs and spend (breakers), and a Retry-After.
 *
 * Each may come from the run itself, with its own token (NIGHTSHIFT_RUN_TOKEN, as a bearer header or as `?token=`,
 * which NIGHTSHIFT_HEARTBEAT_URL already carries, so `curl -fsS "$NIGHTSHIFT_HEARTBEAT_URL"` works), or with the
 * API token. A run's token is good for that run only.
 */
import { Hono, type Context } from 'hono';
import { parseDuration } from '../config/units.ts';
import type { ControlPlane } from './control-plane.ts';
import { ApiError } from './errors.ts';
import { jsonBody } from './params.ts';
import { callerOf } from './auth.ts';

/** Longest heartbeat note kept (it goes into the run's log as one line). */
const MAX_NOTE_CHARS = 500;
/** Outputs reported in one call; a bigger number is a bug in the caller, not a burst. */
const MAX_OUTPUTS = 1_000_000;

export function runReportRoutes(plane: ControlPlane): Hono {
  const api = new Hono();

  const heartbeat = async (c: Context) => {
    const runId = requireRun(plane, c);
    if (!(await plane.heartbeat(runId, await noteOf(c)))) throw notRunning(runId, 'a heartbeat only counts while it runs');
    return c.json({ run: runId, ok: true });
  };
  api.post('/runs/:id/heartbeat', heartbeat);
  api.get('/runs/:id/heartbeat', heartbeat);

  api.post('/runs/:id/outputs', async (c) => {
    const runId = requireRun(plane, c);
    const body = await jsonBody(c, '{"outputs": 1, "spend": 0.12}');
    const outputs = body.outputs ?? body.count ?? 1;
    const spend = body.spend ?? 0;
    if (typeof outputs !== 'number' || !Number.isInteger(outputs) || outputs < 0 || outputs > MAX_OUTPUTS) {
      throw new ApiError(400, 'bad_request', `outputs must be a whole number from 0 to ${MAX_OUTPUTS}; got ${JSON.stringify(outputs)}`);
    }
    if (typeof spend !== 'number' || !Number.isFinite(spend) || spend < 0) {
      throw new ApiError(400, 'bad_request', `spend must be a number of 0 or more (e.g. 0.12); got ${JSON.stringify(spend)}`);
    }
    if (!(await plane.reportOutput(runId, outputs, spend))) throw notRunning(runId, 'outputs are reported by a running run');
    return c.json({ run: runId, outputs, spend });
  });

  api.post('/runs/:id/retry-after', async (c) => {
    const runId = requireRun(plane, c);
    const body = await jsonBody(c, '{"after": "2m"}');
    const after = body.after ?? c.req.query('after');
    let ms: number;
    try {
      ms = typeof after === 'number' ? after * 1000 : typeof after === 'string' ? parseDuration(after) : NaN;
    } catch {
      ms = NaN;
    }
    if (!Number.isFinite(ms) || ms < 0) {
      throw new ApiError(400, 'bad_request', `after must be a duration like 90s or 2m, or a number of seconds; got ${JSON.stringify(after)}`);
    }
    const at = await plane.setRetryAfter(runId, ms);
    if (at === null) throw notRunning(runId, 'a Retry-After is set by the run before it exits');
    return c.json({ run: runId, retry_after_at: at });
  });

  return api;
}

function requireRun(plane: ControlPlane, c: Context): string {
  const runId = c.req.param('id') ?? '';
  if (!mayActAsRun(plane, c, runId)) {
    throw new ApiError(401, 'unauthorized', `this needs the run's own token (NIGHTSHIFT_RUN_TOKEN, or the ?token= in NIGHTSHIFT_HEARTBEAT_URL) or the API token`);
  }
  return runId;
}

function notRunning(runId: string, why: string): ApiError {
  return new ApiError(409, 'not_running', `run ${runId} is not running; ${why}`);
}

function mayActAsRun(plane: ControlPlane, c: Context, runId: string): boolean {
  const caller = callerOf(plane, c);
  return caller !== null && (caller.kind === 'api' || caller.runId === runId);
}


/** `{ "note": "…" }` from a POST body, or `?note=`; anything else is no note (a heartbeat must never fail on it). */
async function noteOf(c: Context): Promise<string | null> {
  let note: unknown = c.req.query('note');
  if (c.req.method === 'POST' && (c.req.header('content-type') ?? '').includes('application/json')) {
    const body = (await c.req.json().catch(() => null)) as { note?: unknown } | null;
    note = body?.note ?? note;
  }
  return typeof note === 'string' && note.trim() !== '' ? note.replace(/\s+/g, ' ').trim().slice(0, MAX_NOTE_CHARS) : null;
}
