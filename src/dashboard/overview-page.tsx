/** The overview: what needs attention first, then every job, every check, the host and the daemon itself. */
import type { CheckJson } from '../status/check-json.ts';
import { Badge, Layout, Strip, Time, type PageContext } from './components.tsx';
import { duration, relative, runDuration, shortId, toneOf, words } from './format.ts';
import type { JobRow, Overview } from './overview-data.ts';

export function OverviewPage(props: { ctx: PageContext; data: Overview }) {
  const { ctx, data } = props;
  return (
    <Layout ctx={ctx} title="Overview">
      <section id="attention" data-live="1" aria-labelledby="att-h">
        <Attention ctx={ctx} data={data} />
      </section>
      <section id="jobs" data-live="1" aria-labelledby="jobs-h">
        <h2 id="jobs-h">Jobs ({data.jobs.length})</h2>
        {data.jobs.length === 0 ? <p class="muted">No jobs are configured.</p> : <ul class="rows">{data.jobs.map((job) => <JobItem job={job} nowMs={ctx.nowMs} />)}</ul>}
      </section>
      <section id="checks" data-live="1" aria-labelledby="checks-h">
        <h2 id="checks-h">Checks ({data.checks.filter((c) => c.origin !== 'job').length})</h2>
        <p class="muted">Each job's own dead-man's switch shows on its row as “late”.</p>
        <ul class="rows">
          {data.checks
            .filter((c) => c.origin !== 'job')
            .map((check) => (
              <CheckItem check={check} nowMs={ctx.nowMs} />
            ))}
        </ul>
      </section>
      <section id="host" data-live="1" aria-labelledby="host-h">
        <h2 id="host-h">Host</h2>
        <Host data={data} nowMs={ctx.nowMs} />
      </section>
      <section id="daemon" data-live="1" aria-labelledby="daemon-h">
        <h2 id="daemon-h">Daemon</h2>
        <Daemon data={data} nowMs={ctx.nowMs} />
      </section>
    </Layout>
  );
}

function Attention(props: { ctx: PageContext; data: Overview }) {
  const { data } = props;
  if (data.attention.length === 0) {
    const late = data.jobs.filter((j) => j.late).length;
    return (
      <div class="banner t-ok">
        <h1 id="att-h">All good</h1>
        <p>
          {`${data.jobs.length} job${data.jobs.length === 1 ? '' : 's'} and ${data.checks.length} check${data.checks.length === 1 ? '' : 's'}`}
          {late ? `, ${late} late` : ' on time'}; no open incidents.
        </p>
      </div>
    );
  }
  return (
    <div class="banner t-bad">
      <h1 id="att-h">{`${data.attention.length} thing${data.attention.length === 1 ? ' needs' : 's need'} attention`}</h1>
      <ol class="att">
        {data.attention.map((item) => (
          <li class={`t-${item.tone}`}>
            {item.href ? <a href={item.href}>{item.title}</a> : <span>{item.title}</span>}
            {item.fix ? <p class="fix">{`Fix: ${item.fix}`}</p> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}

/**
 * One job in a few hundred bytes (100 jobs must fit the 60 KB page): no classes the stylesheet can do without
 * (`.rows>li>div:first-child` is the head, its first link the name), and times as plain words — the page is re-read
 * every minute and on every event, so "3m ago" stays true without a <time> per cell.
 */
function JobItem(props: { job: JobRow; nowMs: number }) {
  const { job, nowMs } = props;
  const last = job.last_run;
  const ran = job.running ?? last;
  const took = ran && (ran.duration_ms !== null || ran.status === 'running') ? runDuration(ran, nowMs) : null;
  return (
    <li>
      <div>
        <a href={`/jobs/${encodeURIComponent(job.name)}`}>{job.name}</a>
        <Badge state={job.display} />
        {job.late && job.display !== 'late' ? <Badge state="late" /> : null}
        <span class="kind">{job.schedule ?? job.kind}</span>
      </div>
      <Strip runs={job.strip} />
      <p class="facts">
        {'last '}
        {last ? <b class={`t-${toneOf(last.status)}`}>{words(last.status)}</b> : 'never'}
        {last ? ` ${relative(last.ended_at ?? last.started_at, nowMs)}` : ''}
        {took ? ` · took ${took}` : ''}
        {job.next_run_at ? ` · next ${relative(job.next_run_at, nowMs)}` : ''}
      </p>
      {job.running ? (
        <p class="now">
          <a href={`/jobs/${encodeURIComponent(job.name)}/runs/${encodeURIComponent(job.running.id)}`}>{`run ${shortId(job.running.id)} running`}</a>
        </p>
      ) : null}
    </li>
  );
}

function CheckItem(props: { check: CheckJson; nowMs: number }) {
  const { check, nowMs } = props;
  const down = check.state === 'down';
  return (
    <li data-check={check.name}>
      <div class="main">
        <a class="name" href={`/checks/${encodeURIComponent(check.name)}`}>
          {check.name}
        </a>
        <Badge state={check.state} />
        <span class="kind">{check.origin === 'created' ? 'created by a ping' : 'check'}</span>
      </div>
      <p class="facts">
        {`last ping ${check.last_ping_at ? relative(check.last_ping_at, nowMs) : 'never'}`}
        {down ? ` · down since ${relative(check.down_since, nowMs)}` : check.next_due_at ? ` · due ${relative(check.next_due_at, nowMs)}` : ''}
      </p>
    </li>
  );
}

/**
 * The host's findings, one line each (a finding's detail can list every job: the overview stays small); the detail
 * and the exact fix are on /host, and critical ones are already at the top with their fix.
 */
function Host(props: { data: Overview; nowMs: number }) {
  const { findings } = props.data;
  if (findings === null) return <p class="muted">Host checks (`nightshift doctor`) are not available here.</p>;
  if (findings.checked_at === null) return <p class="muted">Looking at the host (`nightshift doctor`)…</p>;
  return (
    <>
      {findings.findings.length === 0 ? (
        <p>
          <Badge state="up" label="ok" /> No findings.
        </p>
      ) : (
        <ul class="rows">
          {findings.findings.map((f) => (
            <li>
              <div class="main wide">
                <Badge state={f.severity} />
                <a href={`/host#${encodeURIComponent(f.id)}`}>{f.title}</a>
              </div>
            </li>
          ))}
        </ul>
      )}
      <p class="muted">
        Checked <Time at={findings.checked_at} nowMs={props.nowMs} />
        {' · '}
        <a href="/host">details and fixes</a>
      </p>
    </>
  );
}

function Daemon(props: { data: Overview; nowMs: number }) {
  const { daemon, health, channels } = props.data;
  const up = daemon ? props.nowMs - Date.parse(daemon.started_at) : null;
  return (
    <>
      <p>
        {health.length === 0 ? <Badge state="up" label="healthy" /> : <Badge state="down" label="unhealthy" />}{' '}
        {daemon ? `nightshift ${daemon.version}, pid ${daemon.pid}, node ${daemon.node}, up ${duration(up)}` : null}
      </p>
      {health.length ? (
        <ul>
          {health.map((r) => (
            <li>{r.summary}</li>
          ))}
        </ul>
      ) : null}
      {channels.length ? (
        <ul class="rows">
          {channels.map((ch) => (
            <li>
              <div class="main">
                <strong>{ch.name}</strong>
                <span class="muted">{ch.type}</span>
                {ch.failing ? <Badge state="failed" label="failing" /> : <Badge state="up" label="ok" />}
                {ch.pending ? <span>{`${ch.pending} waiting`}</span> : null}
              </div>
              {ch.last_error ? <p class="muted">{ch.last_error}</p> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No alert channels configured: incidents are only shown here and in `nightshift incidents`.</p>
      )}
    </>
  );
}
