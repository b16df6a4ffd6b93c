/** The REST side of watching (DESIGN.md "HTTP"): checks and their pings, and incidents. Reading only. */
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
