/** One run (with its output), one check (with its ping log), incidents (list and one with its timeline), login. */
import { raw } from 'hono/html';
import type { CheckJson } from '../status/check-json.ts';
import type { HostFindings } from '../http/control-plane.ts';
import type { Incident, OutboxEntry, Ping, Run } from '../store/types.ts';
import { ansiToHtml, escapeHtml } from './ansi.ts';
import { Action, Badge, Flash, Layout, Time, type PageContext } from './components.tsx';
import { duration, runDuration, shortId, utc, words } from './format.ts';
import { MAX_LINES, type RunOutput } from './run-output.ts';

export function RunPage(props: { ctx: PageContext; run: Run; output: RunOutput | null; search: string; flash?: string }) {
  const { ctx, run, output } = props;
  const jobHref = `/jobs/${encodeURIComponent(run.job)}`;
  const running = run.status === 'running';
  return (
    <Layout ctx={ctx} title={`run ${shortId(run.id)} of ${run.job}`}>
      <Flash text={props.flash} />
      <p>
        <a href={jobHref}>{`← ${run.job}`}</a>
      </p>
      <section id="run" data-live="1">
        <h1>
          {`Run ${shortId(run.id)} `}
          <Badge state={run.status} />
        </h1>
        <dl class="kv">
          <dt>id</dt>
          <dd>
            <code>{run.id}</code>
          </dd>
          <dt>reason</dt>
          <dd>{run.reason ? words(run.reason) : '—'}</dd>
          <dt>trigger</dt>
          <dd>{run.trigger}</dd>
          <dt>attempt</dt>
          <dd>{run.attempt}</dd>
          <dt>scheduled</dt>
          <dd>{utc(run.scheduled_at)}</dd>
          <dt>started</dt>
          <dd>{utc(run.started_at)}</dd>
          <dt>ended</dt>
          <dd>{utc(run.ended_at)}</dd>
          <dt>duration</dt>
          <dd>{runDuration(run, ctx.nowMs)}</dd>
          <dt>exit code</dt>
          <dd>{run.exit_code ?? '—'}</dd>
          <dt>signal</dt>
          <dd>{run.signal ?? '—'}</dd>
          {run.error ? (
            <>
              <dt>error</dt>
              <dd>{run.error}</dd>
            </>
          ) : null}
          {run.degraded ? (
            <>
              <dt>degraded</dt>
              <dd>{run.degraded}</dd>
            </>
          ) : null}
          {run.orphans_killed ? (
            <>
              <dt>orphans killed</dt>
              <dd>{run.orphans_killed}</dd>
            </>
          ) : null}
        </dl>
        {running ? <Action ctx={ctx} action={`/runs/${encodeURIComponent(run.id)}/kill`} label="Kill this run" danger confirm="Kill this run?" /> : null}
      </section>
      <section aria-labelledby="out-h">
        <h2 id="out-h">Output</h2>
        {running ? (
          <pre class="out" id="tail" data-run={run.id} tabindex={0} aria-label="live output"></pre>
        ) : (
          <>
            <form method="get" class="search" role="search">
              <label for="q">Search the output</label>
              <input id="q" name="q" type="search" value={props.search} />
              <button type="submit" class="btn">
                Search
              </button>
            </form>
            <OutputBlock output={output} search={props.search} job={run.job} runId={run.id} />
          </>
        )}
      </section>
    </Layout>
  );
}

function OutputBlock(props: { output: RunOutput | null; search: string; job: string; runId: string }) {
  const { output } = props;
  if (output === null || output.matched === 0) {
    return <p class="muted">{props.search ? `No line matches “${props.search}”.` : 'This run printed nothing (or its log has been rotated away).'}</p>;
  }
  const html = output.lines.map((l) => `<span class="l s-${l.stream}" title="${escapeHtml(utc(l.time))}">${l.html}</span>`).join('\n');
  return (
    <>
      <p class="muted">
        {props.search ? `${output.matched} matching line${output.matched === 1 ? '' : 's'}` : `${output.matched} line${output.matched === 1 ? '' : 's'}`}
        {output.matched > MAX_LINES ? `; the last ${MAX_LINES} shown (all of it: nightshift logs ${props.job} --run ${props.runId})` : ''}
        {'. stderr is marked, nightshift notes are dimmed.'}
      </p>
      <pre class="out" tabindex={0} aria-label="output">
        {raw(html)}
      </pre>
    </>
  );
}

export function CheckPage(props: { ctx: PageContext; check: CheckJson; pings: Ping[] }) {
  const { ctx, check } = props;
  return (
    <Layout ctx={ctx} title={`check ${check.name}`}>
      <section id="check" data-live="1">
        <h1>
          {`${check.name} `}
          <Badge state={check.state} />
        </h1>
        {check.origin === 'job' ? (
          <p>
            {'The dead-man’s switch of job '}
            <a href={`/jobs/${encodeURIComponent(check.name)}`}>{check.name}</a>.
          </p>
        ) : null}
        <dl class="kv">
          <dt>ping URL</dt>
          <dd>
            <code>{check.ping_url}</code>
          </dd>
          <dt>last ping</dt>
          <dd>
            <Time at={check.last_ping_at} nowMs={ctx.nowMs} />
          </dd>
          <dt>last success</dt>
          <dd>
            <Time at={check.last_success_at} nowMs={ctx.nowMs} />
          </dd>
          <dt>{check.state === 'down' ? 'down since' : 'next due'}</dt>
          <dd>
            <Time at={check.state === 'down' ? check.down_since : check.next_due_at} nowMs={ctx.nowMs} />
          </dd>
        </dl>
      </section>
      <section id="pings" data-live="1" aria-labelledby="pings-h">
        <h2 id="pings-h">{`Pings (${props.pings.length}, newest first)`}</h2>
        {props.pings.length === 0 ? (
          <p class="muted">No pings yet.</p>
        ) : (
          <div class="scroll" tabindex={0} role="region" aria-label="ping log">
            <table class="runs">
              <thead>
                <tr>
                  <th scope="col">kind</th>
                  <th scope="col">time</th>
                  <th scope="col">exit code</th>
                  <th scope="col">duration</th>
                  <th scope="col">body</th>
                </tr>
              </thead>
              <tbody>
                {props.pings.map((p) => (
                  <tr>
                    <td>
                      <Badge state={p.kind === 'exit' ? (p.exit_code === 0 ? 'success' : 'fail') : p.kind} label={p.kind} />
                    </td>
                    <td title={utc(p.created_at)}>
                      <Time at={p.created_at} nowMs={ctx.nowMs} />
                    </td>
                    <td>{p.exit_code ?? ''}</td>
                    <td>{p.duration_ms === null ? '' : duration(p.duration_ms)}</td>
                    <td class="body">{p.body ? <pre class="out small">{raw(ansiToHtml(p.body))}</pre> : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Layout>
  );
}

export function IncidentsPage(props: { ctx: PageContext; incidents: Incident[] }) {
  return (
    <Layout ctx={props.ctx} title="Incidents">
      <section id="incidents" data-live="1">
        <h1>Incidents</h1>
        {props.incidents.length === 0 ? <p class="muted">None recorded.</p> : null}
        <ul class="rows">
          {props.incidents.map((i) => (
            <li>
              <div class="main">
                <Badge state={i.state} />
                <a href={`/incidents/${encodeURIComponent(i.id)}`}>{i.summary}</a>
              </div>
              <p class="muted">
                {`${words(i.kind)} · ${i.subject} · opened `}
                <Time at={i.opened_at} nowMs={props.ctx.nowMs} />
                {i.resolved_at ? ' · resolved ' : ''}
                {i.resolved_at ? <Time at={i.resolved_at} nowMs={props.ctx.nowMs} /> : null}
              </p>
            </li>
          ))}
        </ul>
      </section>
    </Layout>
  );
}

const SHOWN_DETAIL = new Set(['fix', 'since', 'stderr_tail', 'last_ping', 'path', 'flaps', 'run_id']);

export function IncidentPage(props: {
  ctx: PageContext;
  incident: Incident;
  notifications: OutboxEntry[];
  subjectHref: string | null;
}) {
  const { ctx, incident: i } = props;
  const d = i.detail;
  const timeline: Array<[string | null | undefined, string]> = [
    [typeof d.since === 'string' ? d.since : null, 'the condition began'],
    [i.opened_at, 'incident opened'],
    [i.last_notified_at !== i.opened_at ? i.last_notified_at : null, 'last notification queued (renotify)'],
    [i.resolved_at, 'resolved'],
  ];
  const extra = Object.entries(d).filter(([k]) => !SHOWN_DETAIL.has(k));
  return (
    <Layout ctx={ctx} title={`incident ${i.kind}`}>
      <section id="incident" data-live="1">
        <h1>
          <Badge state={i.state} /> {i.summary}
        </h1>
        <p class="muted">
          {`${words(i.kind)} · `}
          {props.subjectHref ? <a href={props.subjectHref}>{i.subject}</a> : i.subject}
          {d.flaps ? ` · came back ${d.flaps} time${d.flaps === 1 ? '' : 's'} before its recovery was sent` : ''}
        </p>
        {d.fix ? <p class="fix">{`Fix: ${d.fix}`}</p> : null}
        <h2>Timeline</h2>
        <ol class="timeline">
          {timeline
            .filter((t): t is [string, string] => typeof t[0] === 'string')
            .sort((a, b) => a[0].localeCompare(b[0]))
            .map(([at, what]) => (
              <li>
                <time datetime={at}>{utc(at)}</time> {what}
              </li>
            ))}
          {props.notifications
            .filter((n) => n.sent_at !== null)
            .map((n) => (
              <li>
                <time datetime={n.sent_at ?? ''}>{utc(n.sent_at)}</time> {`${n.event} sent to ${n.channel}`}
              </li>
            ))}
        </ol>
        {d.run_id && typeof d.run_id === 'string' ? (
          <p>
            <a href={`/jobs/${encodeURIComponent(i.subject)}/runs/${encodeURIComponent(d.run_id)}`}>{`the run (${shortId(d.run_id)})`}</a>
          </p>
        ) : null}
        {Array.isArray(d.stderr_tail) && d.stderr_tail.length ? (
          <>
            <h2>stderr tail</h2>
            <pre class="out">{raw(d.stderr_tail.map((l) => ansiToHtml(String(l))).join('\n'))}</pre>
          </>
        ) : null}
        {d.last_ping ? (
          <p>{`Last ping: ${d.last_ping.kind} at ${utc(d.last_ping.at)}${d.last_ping.exit_code !== null ? `, exit ${d.last_ping.exit_code}` : ''}${d.last_ping.body ? ` — ${d.last_ping.body}` : ''}`}</p>
        ) : null}
        {d.path ? (
          <p>
            PATH: <code>{d.path}</code>
          </p>
        ) : null}
        {extra.length ? <pre class="cfg">{JSON.stringify(Object.fromEntries(extra), null, 2)}</pre> : null}
      </section>
      <section id="notifications" data-live="1" aria-labelledby="n-h">
        <h2 id="n-h">Notifications</h2>
        <Notifications entries={props.notifications} />
      </section>
    </Layout>
  );
}

function Notifications(props: { entries: OutboxEntry[] }) {
  if (props.entries.length === 0) return <p class="muted">None: no channel is configured for alerts.</p>;
  return (
    <div class="scroll" tabindex={0} role="region" aria-label="notifications">
      <table class="runs">
        <thead>
          <tr>
            <th scope="col">channel</th>
            <th scope="col">event</th>
            <th scope="col">state</th>
            <th scope="col">attempts</th>
            <th scope="col">sent</th>
            <th scope="col">last error</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((n) => (
            <tr>
              <td>{n.channel}</td>
              <td>{n.event}</td>
              <td>
                <Badge state={n.state} />
              </td>
              <td>{n.attempts}</td>
              <td>{utc(n.sent_at)}</td>
              <td>{n.last_error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LoginPage(props: { ctx: PageContext; next: string; why?: string; failed: boolean }) {
  return (
    <Layout ctx={props.ctx} title="Sign in" live={false}>
      <section class="login">
        <h1>Sign in</h1>
        <Flash text={props.failed ? 'That is not the API token.' : props.why} tone={props.failed ? 'bad' : 'ok'} />
        <p>
          Enter the daemon’s API token: <code>http.token</code> in the config, or the file <code>api-token</code> in its state directory.
        </p>
        <form method="post" action="/login">
          <input type="hidden" name="next" value={props.next} />
          <label for="token">API token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
          <button type="submit" class="btn">
            Sign in
          </button>
        </form>
      </section>
    </Layout>
  );
}

export function HostPage(props: { ctx: PageContext; findings: HostFindings | null }) {
  const { findings } = props;
  return (
    <Layout ctx={props.ctx} title="Host">
      <section id="hostpage" data-live="1">
        <h1>Host</h1>
        {findings === null ? <p class="muted">Host checks (`nightshift doctor`) are not available here.</p> : null}
        {findings?.checked_at === null ? <p class="muted">Looking at the host (`nightshift doctor`)…</p> : null}
        {findings?.checked_at ? (
          <p class="muted">
            {`What \`nightshift doctor\` finds on this host and in this config; checked `}
            <Time at={findings.checked_at} nowMs={props.ctx.nowMs} />.{findings.findings.length === 0 ? ' No findings.' : ''}
          </p>
        ) : null}
        <ul class="rows findings">
          {(findings?.findings ?? []).map((f) => (
            <li id={f.id}>
              <div class="main wide">
                <Badge state={f.severity} />
                <strong>{f.title}</strong>
                <code class="kind">{f.id}</code>
              </div>
              <p class="pre">{f.detail}</p>
              <p class="pre fix">{`Fix: ${f.fix}`}</p>
            </li>
          ))}
        </ul>
      </section>
    </Layout>
  );
}
