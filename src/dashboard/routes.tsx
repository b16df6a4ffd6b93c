/**
 * The dashboard's pages and actions, mounted at `/` by src/http/app.ts. Pages are rendered on the server from the
 * store and the daemon (the same sources as `status` and the API); actions call the same ControlPlane operations as
 * the API's POST routes. See access.ts for who may read and act.
 */
import { LoginLimit } from './login-limit.ts';
import { Hono, type Context } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { DASHBOARD } from '../config/defaults.ts';
import type { ControlPlane } from '../http/control-plane.ts';
import { buildStatus } from '../status/build-status.ts';
import { RUN_STATUSES, type RunStatus } from '../store/types.ts';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { csrfToken, endSession, isSignedIn, mayAct, mayRead, safeNext, startSession } from './access.ts';
import { isApiToken } from '../http/auth.ts';
import { assetRoutes } from './assets.ts';
import { Layout, type PageContext } from './components.tsx';
import { CheckPage, HostPage, IncidentPage, IncidentsPage, LoginPage, RunPage } from './detail-pages.tsx';
import { JobPage } from './job-page.tsx';
import { buildOverview } from './overview-data.ts';
import { OverviewPage } from './overview-page.tsx';
import { readRunOutput } from './run-output.ts';

/** Headers on every page: no framing, no sniffing, and a CSP that runs only our own script (defence in depth: output
 * is escaped anyway, and with this even a missed escape could not run a script). */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export function dashboardRoutes(plane: ControlPlane): Hono {
  const app = new Hono();
  app.route('/', assetRoutes());
  // Form posts must come from this origin (Origin / Sec-Fetch-Site), on top of the CSRF token and SameSite=Strict.
  const originCheck = csrf();
  app.use('*', async (c, next) => {
    try {
      return await originCheck(c, next);
    } catch (error) {
      // hono's check throws a 403 HTTPException, which the API's error handler would turn into a 500.
      if (error instanceof HTTPException && error.status === 403) return c.text('refused: this form was not sent from this dashboard (Origin check)', 403);
      throw error;
    }
  });
  app.use('*', async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(PAGE_HEADERS)) if (!c.res.headers.has(k)) c.res.headers.set(k, v);
  });

  const ctxOf = (c: Context): PageContext => ({
    project: plane.config().project,
    nowMs: Date.now(),
    signedIn: isSignedIn(plane, c),
    csrf: csrfToken(plane),
  });

  app.get('/login', (c) => page(c, <LoginPage ctx={ctxOf(c)} next={safeNext(c.req.query('next'))} why={whyLogin(c.req.query('why'))} failed={false} />));
  const logins = new LoginLimit();
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    const waitMs = logins.retryInMs();
    if (waitMs > 0) {
      c.header('Retry-After', String(Math.ceil(waitMs / 1000)));
      return c.text(`too many wrong tokens: try again in ${Math.ceil(waitMs / 1000)} s (the CLI works meanwhile)`, 429);
    }
    if (typeof form.token !== 'string' || !isApiToken(plane, form.token.trim())) {
      logins.failed();
      return page(c, <LoginPage ctx={ctxOf(c)} next={next} failed={true} />, 401);
    }
    startSession(plane, c);
    return c.redirect(next, 303);
  });
  app.post('/logout', async (c) => {
    endSession(c);
    return c.redirect('/login', 303);
  });

  // Every page below needs reading rights; beyond loopback that is a session.
  app.use('*', async (c, next) => {
    if (mayRead(plane, c)) return next();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.text('sign in first', 401);
    return c.redirect(`/login?next=${encodeURIComponent(pathOf(c))}`, 303);
  });

  app.get('/', async (c) => {
    const t0 = performance.now();
    const nowMs = Date.now();
    const data = await buildOverview(plane, nowMs);
    const res = await page(c, <OverviewPage ctx={{ ...ctxOf(c), nowMs }} data={data} />);
    // How long the server took to gather and render (bench/dashboard-overview.mjs reads it; browsers show it too).
    res.headers.set('Server-Timing', `render;dur=${(performance.now() - t0).toFixed(1)}`);
    return res;
  });

  app.get('/jobs/:name', async (c) => {
    const job = plane.config().jobs[c.req.param('name')];
    if (!job) return notFound(c, ctxOf(c), `No job named “${c.req.param('name')}”.`);
    const filter = c.req.query('status');
    const statuses = filter && RUN_STATUSES.includes(filter as RunStatus) ? [filter as RunStatus] : undefined;
    const pageNo = Math.max(1, Math.min(1000, Number.parseInt(c.req.query('page') ?? '1', 10) || 1));
    const size = DASHBOARD.history_page;
    // Newest first by id; a page is a window of the newest (page × size + 1): history is capped per job (keep_runs).
    const window = await plane.store.listRuns({ job: job.name, limit: pageNo * size + 1, ...(statuses ? { statuses } : {}) });
    const status = await buildStatus({ config: plane.config(), store: plane.store, daemon: plane.daemonInfo(), baseUrl: plane.url(), nodes: plane.clusterNodes?.() });
    const running = (await plane.store.listRuns({ job: job.name, statuses: ['running'], limit: 1 }))[0] ?? null;
    const jobStatus = status.jobs.find((j) => j.name === job.name)!;
    const check = status.checks.find((ch) => ch.origin === 'job' && ch.name === job.name) ?? null;
    const late = check?.state === 'down';
    return page(
      c,
      <JobPage
        ctx={ctxOf(c)}
        data={{
          job,
          status: jobStatus,
          late,
          check,
          incidents: await plane.store.listIncidents({ open: true, subject: job.name, limit: 20 }),
          running,
          runs: window.slice((pageNo - 1) * size, pageNo * size),
          filter: statuses ? filter! : null,
          page: pageNo,
          hasMore: window.length > pageNo * size,
          flash: flashOf(c.req.query('done')),
        }}
      />,
    );
  });

  app.get('/jobs/:name/runs/:id', async (c) => {
    const run = await plane.store.getRun(c.req.param('id'));
    if (!run || run.job !== c.req.param('name')) return notFound(c, ctxOf(c), `No run “${c.req.param('id')}” of job “${c.req.param('name')}”.`);
    const search = c.req.query('q') ?? '';
    const output = run.status === 'running' ? null : await readRunOutput(plane.config().stateDir, run.job, run.id, search);
    return page(c, <RunPage ctx={ctxOf(c)} run={run} output={output} search={search} flash={flashOf(c.req.query('done'))} />);
  });

  app.get('/checks/:name', async (c) => {
    const status = await buildStatus({ config: plane.config(), store: plane.store, daemon: null, baseUrl: plane.url() });
    const check = status.checks.find((ch) => ch.name === c.req.param('name'));
    if (!check) return notFound(c, ctxOf(c), `No check named “${c.req.param('name')}”.`);
    return page(c, <CheckPage ctx={ctxOf(c)} check={check} pings={await plane.store.listPings(check.name, 100)} />);
  });

  app.get('/host', async (c) => page(c, <HostPage ctx={ctxOf(c)} findings={await plane.hostFindings()} />));
  app.get('/incidents', async (c) => page(c, <IncidentsPage ctx={ctxOf(c)} incidents={await plane.store.listIncidents({ limit: 200 })} />));
  app.get('/incidents/:id', async (c) => {
    const incident = await plane.store.getIncident(c.req.param('id'));
    if (!incident) return notFound(c, ctxOf(c), `No incident “${c.req.param('id')}”.`);
    const config = plane.config();
    const subjectHref = config.jobs[incident.subject]
      ? `/jobs/${encodeURIComponent(incident.subject)}`
      : config.checks[incident.subject]
        ? `/checks/${encodeURIComponent(incident.subject)}`
        : null;
    const notifications = await plane.store.listNotifications(incident.id);
    return page(c, <IncidentPage ctx={ctxOf(c)} incident={incident} notifications={notifications} subjectHref={subjectHref} />);
  });

  // ---- actions: POST, signed in, with the form's CSRF token ----

  const act = (path: string, run: (c: Context) => Promise<string>) =>
    app.post(path, async (c) => {
      const name = c.req.param('name');
      if (name !== undefined && !plane.config().jobs[name]) return notFound(c, ctxOf(c), `No job named “${name}” (any more?).`);
      const form = await c.req.parseBody();
      const back = backTo(c);
      if (!mayAct(plane, c, typeof form.csrf === 'string' ? form.csrf : undefined)) {
        if (isSignedIn(plane, c)) return c.text('the form is stale or from another site (CSRF token missing or wrong); reload the page and try again', 403);
        return c.redirect(`/login?next=${encodeURIComponent(back)}&why=action`, 303);
      }
      const done = await run(c);
      return c.redirect(`${back}${back.includes('?') ? '&' : '?'}done=${encodeURIComponent(done)}`, 303);
    });

  const jobOf = (c: Context) => c.req.param('name') ?? ''; // known: act() answered 404 otherwise
  act('/jobs/:name/run', async (c) => `started:${(await plane.trigger(jobOf(c), 'manual')).status}`);
  act('/jobs/:name/pause', async (c) => (await plane.setPaused(jobOf(c), true), 'paused'));
  act('/jobs/:name/resume', async (c) => (await plane.setPaused(jobOf(c), false), 'resumed'));
  act('/jobs/:name/reset', async (c) => (await plane.resetBreaker(jobOf(c)), 'reset'));
  act('/runs/:id/kill', async (c) => (plane.cancelRun(c.req.param('id') ?? '') ? 'killing' : 'not-running'));

  return app;
}

async function page(c: Context, element: JSX.Element, status: 200 | 401 | 404 = 200): Promise<Response> {
  // Components here are synchronous, but toString() may hand back a promise for async ones: await either way.
  const body = await (element as unknown as { toString(): string | Promise<string> }).toString();
  return c.html(`<!doctype html>${body}`, status);
}

function notFound(c: Context, ctx: PageContext, text: string): Promise<Response> {
  return page(
    c,
    <Layout ctx={ctx} title="Not found" live={false}>
      <h1>Not found</h1>
      <p>{text}</p>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </Layout>,
    404,
  );
}

function pathOf(c: Context): string {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

/** Where an action returns to: the page it was posted from (Referer, same site only), else the job's page. */
function backTo(c: Context): string {
  const referer = c.req.header('referer');
  if (referer) {
    try {
      const url = new URL(referer);
      if (url.origin === new URL(c.req.url).origin && url.pathname !== '/login') {
        url.searchParams.delete('done');
        return url.pathname + url.search;
      }
    } catch {
      // not a URL: fall through
    }
  }
  const name = c.req.param('name');
  return name ? `/jobs/${encodeURIComponent(name)}` : '/';
}

const FLASH: Record<string, string> = {
  paused: 'Paused: no new runs start until you resume it.',
  resumed: 'Resumed.',
  reset: 'Breaker reset and hold released.',
  killing: 'Killing the run: SIGTERM to its process tree, SIGKILL after its kill_grace.',
  'not-running': 'That run is not running here any more.',
  'started:running': 'Started.',
  'started:queued': 'Queued: it starts when a slot or its lock is free.',
  'started:skipped': 'Skipped: see the newest run for the reason.',
};

function flashOf(done: string | undefined): string | undefined {
  return done === undefined ? undefined : (FLASH[done] ?? undefined);
}

function whyLogin(why: string | undefined): string | undefined {
  return why === 'action' ? 'Actions (run, pause, resume, kill, reset) need the API token.' : undefined;
}


