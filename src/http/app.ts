import { Hono, type MiddlewareHandler } from 'hono';
import { intParam } from './params.ts';
import { pingRoutes } from './ping-routes.ts';
import { watchRoutes } from './watch-routes.ts';
import { runReportRoutes } from './run-report-routes.ts';
import { coordinationRoutes } from './coordination-routes.ts';
import { taskRoutes } from './task-routes.ts';
import { RUN_STATUSES, FINISHED_STATUSES, type Run, type RunStatus } from '../store/types.ts';
import { buildStatus } from '../status/build-status.ts';
import { ApiError, unknownJob } from './errors.ts';
import type { ControlPlane } from './control-plane.ts';
import { callerOf, runMayWrite } from './auth.ts';
import { dashboardRoutes } from '../dashboard/routes.tsx';
import { eventRoutes } from '../dashboard/event-stream.ts';
import { mayRead } from '../dashboard/access.ts';

/** Longest a `GET /api/v1/runs/:id?wait=` request is held open. */
const MAX_WAIT_MS = 60_000;

/**
 * The daemon's HTTP API. Reading is open (it binds loopback by default); anything that changes state needs
 * `Authorization: Bearer <token>`.
 */
export function createApp(plane: ControlPlane): Hono {
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(error.body(), error.status);
    plane.reportError(`${c.req.method} ${c.req.path} failed`, error);
    return c.json({ error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  app.get('/healthz', async (c) => {
    const reasons = await plane.healthReasons();
    return c.json({ ok: reasons.length === 0, reasons }, reasons.length === 0 ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const { contentType, body } = await plane.metrics();
    return c.body(body, 200, { 'Content-Type': contentType });
  });

  app.route(
    '/ping',
    pingRoutes(plane.pings, {
      bodyLimitBytes: plane.config().http.pingBodyLimitBytes,
      pingKey: () => plane.config().http.pingKey,
      onIntakeError: (error) => plane.reportError('a ping could not be recorded (answered 503, clients retry)', error),
    }),
  );

  const api = new Hono();
  api.use('*', requireTokenForWrites(plane));
  api.route('/', watchRoutes(plane, (c) => new URL(c.req.url).origin));
  api.route('/', runReportRoutes(plane));
  api.route('/', coordinationRoutes(plane));
  api.route('/', taskRoutes(plane));

  api.get('/status', async (c) => c.json(await statusOf(plane)));
  api.get('/jobs', async (c) => c.json((await statusOf(plane)).jobs));
  api.get('/jobs/:name', async (c) => {
    const name = knownJob(plane, c.req.param('name'));
    const job = (await statusOf(plane)).jobs.find((j) => j.name === name);
    return c.json(job);
  });
  api.get('/jobs/:name/runs', async (c) => {
    const name = knownJob(plane, c.req.param('name'));
    const limit = intParam(c, 'limit', 100, 1, 10_000);
    const status = c.req.query('status');
    if (status !== undefined && !RUN_STATUSES.includes(status as RunStatus)) {
      throw new ApiError(400, 'bad_request', `status must be one of ${RUN_STATUSES.join(', ')}; got '${status}'`);
    }
    const statuses = status ? [status as RunStatus] : undefined;
    return c.json(await plane.store.listRuns({ job: name, limit, ...(statuses ? { statuses } : {}) }));
  });
  api.post('/jobs/:name/runs', async (c) => {
    const name = knownJob(plane, c.req.param('name'));
    const trigger = c.req.query('trigger') === 'manual' ? 'manual' : 'api';
    const run = await plane.trigger(name, trigger);
    return c.json({ run }, 202);
  });
  api.post('/jobs/:name/pause', async (c) => {
    const name = knownJob(plane, c.req.param('name'));
    await plane.setPaused(name, true);
    return c.json({ job: name, paused: true });
  });
  api.post('/jobs/:name/resume', async (c) => {
    const name = knownJob(plane, c.req.param('name'));
    await plane.setPaused(name, false);
    return c.json({ job: name, paused: false });
  });
  api.get('/runs/:id', async (c) => {
    const id = c.req.param('id');
    const waitMs = intParam(c, 'wait', 0, 0, MAX_WAIT_MS);
    let run = await findRun(plane, id);
    // A long-poll, so `nightshift run JOB --wait` needs no client-side loop of requests.
    if (!isFinal(run) && waitMs > 0) {
      await plane.waitForRunEnd(id, waitMs);
      run = await findRun(plane, id);
    }
    return c.json(run);
  });
  api.post('/runs/:id/cancel', async (c) => {
    const run = await findRun(plane, c.req.param('id'));
    if (run.status !== 'running') throw new ApiError(409, 'not_running', `run ${run.id} is ${run.status}, not running`);
    if (plane.cancelRun(run.id)) return c.json({ run: run.id, cancelling: true }, 202);
    // Another node's run (a cluster on PostgreSQL): that node is asked, and cancels it as if asked directly.
    if (run.trigger !== 'exec' && (await plane.cancelElsewhere?.(run))) return c.json({ run: run.id, cancelling: true, node: run.node }, 202);
    throw new ApiError(409, 'not_here', `run ${run.id} is not supervised by this daemon (started by ${run.trigger})`);
  });
  api.post('/jobs/:name/reset', async (c) => {
    const name = knownJob(plane, c.req.param('name'));
    await plane.resetBreaker(name);
    return c.json({ job: name, reset: true });
  });
  // Server-Sent Events: /api/v1/events and /api/v1/runs/:id/output (src/dashboard/event-stream.ts).
  api.route('/', eventRoutes(plane));

  app.route('/api/v1', api);
  // The web dashboard at / (src/dashboard/): pages, their assets, login and form actions.
  app.route('/', dashboardRoutes(plane));
  return app;
}

function requireTokenForWrites(plane: ControlPlane): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      // Reading is open on loopback; a daemon listening beyond it shows nothing without a token (or a dashboard session).
      if (mayRead(plane, c) || callerOf(plane, c) !== null) return next();
      throw new ApiError(
        401,
        'unauthorized',
        `the daemon listens beyond loopback (${plane.config().http.host}), so reading needs Authorization: Bearer <token> too (http.token in the config, or the file api-token in the state directory)`,
      );
    }
    // What a run reports about itself carries the run's own token, which its route checks (run-report-routes.ts).
    if (/\/runs\/[^/]+\/(heartbeat|outputs|retry-after)$/.test(c.req.path)) return next();
    const caller = callerOf(plane, c);
    const path = c.req.path.replace(/^\/api\/v1/, '');
    if (caller === null || (caller.kind === 'run' && !runMayWrite(path))) {
      throw new ApiError(
        401,
        'unauthorized',
        'this request changes state and needs Authorization: Bearer <token> (http.token in the config, or the file api-token in the state directory)',
      );
    }
    return next();
  };
}

async function statusOf(plane: ControlPlane) {
  return buildStatus({ config: plane.config(), store: plane.store, daemon: plane.daemonInfo(), baseUrl: plane.url(), nodes: plane.clusterNodes?.() });
}

function knownJob(plane: ControlPlane, name: string): string {
  const jobs = Object.keys(plane.config().jobs);
  if (!jobs.includes(name)) throw unknownJob(name, jobs);
  return name;
}

async function findRun(plane: ControlPlane, id: string): Promise<Run> {
  const run = await plane.store.getRun(id);
  if (!run) throw new ApiError(404, 'unknown_run', `no run with id '${id}'`);
  return run;
}

function isFinal(run: Run): boolean {
  return FINISHED_STATUSES.includes(run.status);
}
