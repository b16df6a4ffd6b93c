/**
 * The REST side of watching (DESIGN.md "HTTP"): checks and their pings, incidents, and run heartbeats.
 *
 * A heartbeat may come from the run itself, with its own token (NIGHTSHIFT_RUN_TOKEN, as a bearer header or in the
 * `?token=` that NIGHTSHIFT_HEARTBEAT_URL already carries, so `curl -fsS "$NIGHTSHIFT_HEARTBEAT_URL"` works), or
 * with the API token. A run's token is good for that run only.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { Incident } from '../store/types.ts';
import type { CheckSnapshot } from '../watch/check-watcher.ts';
import { checkJson } from '../status/check-json.ts';
import type { ControlPlane } from './control-plane.ts';
import { ApiError } from './errors.ts';
import { intParam } from './params.ts';

export function watchRoutes(plane: ControlPlane, baseUrl: (c: Context) => string): Hono {
  const api = new Hono();

  api.get('/checks', async (c) => c.json((await plane.checks()).map((s) => checkJson(s, baseUrl(c)))));
  api.get('/checks/:name', async (c) => c.json(checkJson(await knownCheck(plane, c.req.param('name')), baseUrl(c))));
  api.get('/checks/:name/pings', async (c) => {
    const check = await knownCheck(plane, c.req.param('name'));
    return c.json(await plane.store.listPings(check.record.name, intParam(c, 'limit', 100, 1, 1000)));
  });

  api.get('/incidents', async (c) => {
    const all = c.req.query('all');
    const incidents = await plane.store.listIncidents({ open: !(all === '1' || all === 'true'), limit: intParam(c, 'limit', 100, 1, 10_000) });
    return c.json(incidents.map(incidentJson));
  });
  api.get('/incidents/:id', async (c) => {
    const incident = await plane.store.getIncident(c.req.param('id'));
    if (!incident) throw new ApiError(404, 'unknown_incident', `no incident with id '${c.req.param('id')}'`);
    return c.json(incidentJson(incident));
  });

  const heartbeat = async (c: Context) => {
    const runId = c.req.param('id') ?? '';
    if (!mayActAsRun(plane, c, runId)) {
      throw new ApiError(401, 'unauthorized', `a heartbeat needs this run's own token (NIGHTSHIFT_RUN_TOKEN, or the ?token= in NIGHTSHIFT_HEARTBEAT_URL) or the API token`);
    }
    if (!(await plane.heartbeat(runId, await noteOf(c)))) throw new ApiError(409, 'not_running', `run ${runId} is not running; a heartbeat only counts while it runs`);
    return c.json({ run: runId, ok: true });
  };
  api.post('/runs/:id/heartbeat', heartbeat);
  api.get('/runs/:id/heartbeat', heartbeat);

  return api;
}

/** The public Incident shape (DESIGN.md), plus last_notified_at. */
function incidentJson(incident: Incident): Incident {
  return incident;
}

async function knownCheck(plane: ControlPlane, name: string): Promise<CheckSnapshot> {
  const all = await plane.checks();
  const found = all.find((s) => s.record.name === name);
  if (!found) {
    const names = all.map((s) => s.record.name);
    throw new ApiError(404, 'unknown_check', `no check named '${name}' (${names.length ? `checks: ${names.join(', ')}` : 'there are no checks'})`);
  }
  return found;
}

function mayActAsRun(plane: ControlPlane, c: Context, runId: string): boolean {
  const header = c.req.header('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : (c.req.query('token') ?? '');
  if (token === '') return false;
  if (plane.runIdForToken(token) === runId) return true;
  const given = Buffer.from(token);
  const expected = Buffer.from(plane.apiToken());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Longest heartbeat note kept (it goes into the run's log as one line). */
const MAX_NOTE_CHARS = 500;

/** `{ "note": "…" }` from a POST body, or `?note=`; anything else is no note (a heartbeat must never fail on it). */
async function noteOf(c: Context): Promise<string | null> {
  let note: unknown = c.req.query('note');
  if (c.req.method === 'POST' && (c.req.header('content-type') ?? '').includes('application/json')) {
    const body = (await c.req.json().catch(() => null)) as { note?: unknown } | null;
    note = body?.note ?? note;
  }
  return typeof note === 'string' && note.trim() !== '' ? note.replace(/\s+/g, ' ').trim().slice(0, MAX_NOTE_CHARS) : null;
}
