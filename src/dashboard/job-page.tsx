/** A job: its state and what to do, the run going on now, its run history (filtered, paged) and its effective config. */
import type { JobConfig } from '../config/types.ts';
import type { JobStatus } from '../status/build-status.ts';
import type { CheckJson } from '../status/check-json.ts';
import { RUN_STATUSES, type Incident, type Run } from '../store/types.ts';
import { Action, Badge, Flash, Layout, Time, type PageContext } from './components.tsx';
import { duration, runDuration, shortId, words } from './format.ts';

export interface JobPageData {
  job: JobConfig;
  status: JobStatus;
  late: boolean;
  /** Its dead-man's switch (scheduled jobs only). */
  check: CheckJson | null;
  /** Open incidents about this job: what is wrong, with the fix. */
  incidents: Incident[];
  running: Run | null;
  runs: Run[];
  filter: string | null;
  page: number;
  hasMore: boolean;
  flash?: string;
}

export function JobPage(props: { ctx: PageContext; data: JobPageData }) {
  const { ctx, data } = props;
  const { job, status } = data;
  const base = `/jobs/${encodeURIComponent(job.name)}`;
  const held = ['paused', 'halted', 'breaker_open', 'crash_loop'].includes(status.state);
  return (
    <Layout ctx={ctx} title={job.name}>
      <Flash text={data.flash} />
      <section id="head" data-live="1">
        {data.incidents.length ? (
          <div class="banner t-bad">
            <ol class="att">
              {data.incidents.map((i) => (
                <li>
                  <a href={`/incidents/${encodeURIComponent(i.id)}`}>{i.summary}</a>
                  {i.detail.fix ? <p class="fix">{`Fix: ${i.detail.fix}`}</p> : null}
                </li>
              ))}
            </ol>
          </div>
        ) : null}
        <h1>
          {job.name} <Badge state={data.late && !held && status.state !== 'running' ? 'late' : status.state} />
          {data.late && (held || status.state === 'running') ? <Badge state="late" /> : null}
        </h1>
        {status.state_reason && status.state_reason !== status.state ? <p>{status.state_reason}</p> : null}
        {status.hint ? <p class="fix">{`Fix: ${status.hint}`}</p> : null}
        {data.late ? <p class="fix">Its expected success did not arrive in time (dead-man's switch down); see its check and last runs.</p> : null}
        <p class="muted">
          {`${job.kind}${job.schedule ? ` · ${job.schedule}${job.timezone ? ` (${job.timezone})` : ''}` : ''} · next `}
          <Time at={status.next_run_at} nowMs={ctx.nowMs} />
          {data.check ? ' · dead-man’s switch ' : ''}
          {data.check ? <a href={`/checks/${encodeURIComponent(data.check.name)}`}>{data.check.state}</a> : null}
        </p>
        <div class="actions" role="group" aria-label="Actions">
          <Action ctx={ctx} action={`${base}/run`} label="Run now" />
          {status.paused ? <Action ctx={ctx} action={`${base}/resume`} label="Resume" /> : <Action ctx={ctx} action={`${base}/pause`} label="Pause" />}
          {held && !status.paused ? <Action ctx={ctx} action={`${base}/reset`} label={status.state === 'breaker_open' ? 'Reset breaker' : 'Release hold'} /> : null}
          {data.running ? <Action ctx={ctx} action={`/runs/${encodeURIComponent(data.running.id)}/kill`} label="Kill running run" danger confirm="Kill the running run?" /> : null}
        </div>
        {ctx.signedIn ? null : (
          <p class="muted">
            Actions need the API token: <a href={`/login?next=${encodeURIComponent(base)}`}>sign in</a>.
          </p>
        )}
      </section>
      <section id="live" data-live="1" aria-labelledby="live-h">
        {data.running ? (
          <>
            <h2 id="live-h">
              {'Running now: '}
              <a href={`${base}/runs/${encodeURIComponent(data.running.id)}`}>{`run ${shortId(data.running.id)}`}</a>
              {` · ${runDuration(data.running, ctx.nowMs)}`}
            </h2>
            <pre class="out" id="tail" data-run={data.running.id} tabindex={0} aria-label="live output"></pre>
          </>
        ) : (
          <h2 id="live-h" class="muted">
            Not running
          </h2>
        )}
      </section>
      <section id="history" data-live="1" aria-labelledby="hist-h">
        <h2 id="hist-h">Runs</h2>
        <nav class="filters" aria-label="Filter runs by status">
          <a href={base} aria-current={data.filter === null ? 'page' : undefined}>
            all
          </a>
          {RUN_STATUSES.map((s) => (
            <a href={`${base}?status=${s}`} aria-current={data.filter === s ? 'page' : undefined}>
              {words(s)}
            </a>
          ))}
        </nav>
        <RunTable runs={data.runs} job={job.name} nowMs={ctx.nowMs} />
        <nav class="pager" aria-label="Pages">
          {data.page > 1 ? <a href={pageHref(base, data.filter, data.page - 1)}>← newer</a> : null}
          <span class="muted">{`page ${data.page}`}</span>
          {data.hasMore ? <a href={pageHref(base, data.filter, data.page + 1)}>older →</a> : null}
        </nav>
      </section>
      <section id="config" aria-labelledby="cfg-h">
        <h2 id="cfg-h">Effective config</h2>
        <p class="muted">As the daemon runs it now, every default applied (environment values hidden).</p>
        <pre class="cfg">{JSON.stringify(effectiveConfig(job), null, 2)}</pre>
      </section>
    </Layout>
  );
}

function pageHref(base: string, filter: string | null, page: number): string {
  const q = new URLSearchParams();
  if (filter) q.set('status', filter);
  if (page > 1) q.set('page', String(page));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

export function RunTable(props: { runs: Run[]; job: string; nowMs: number }) {
  if (props.runs.length === 0) return <p class="muted">No runs.</p>;
  return (
    <div class="scroll" tabindex={0} role="region" aria-label="run history">
      <table class="runs">
        <thead>
          <tr>
            <th scope="col">run</th>
            <th scope="col">status</th>
            <th scope="col">reason</th>
            <th scope="col">trigger</th>
            <th scope="col">attempt</th>
            <th scope="col">started</th>
            <th scope="col">duration</th>
            <th scope="col">exit</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((run) => (
            <tr>
              <td>
                <a href={`/jobs/${encodeURIComponent(props.job)}/runs/${encodeURIComponent(run.id)}`}>{shortId(run.id)}</a>
              </td>
              <td>
                <Badge state={run.status} />
              </td>
              <td>{run.reason ? words(run.reason) : ''}</td>
              <td>{run.trigger}</td>
              <td>{run.attempt}</td>
              <td>
                <Time at={run.started_at ?? run.scheduled_at} nowMs={props.nowMs} />
              </td>
              <td>{runDuration(run, props.nowMs)}</td>
              <td>{run.exit_code ?? (run.signal ? run.signal : '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The job as the daemon runs it, with env values masked (they often hold secrets) and durations readable. */
function effectiveConfig(job: JobConfig): Record<string, unknown> {
  const masked = Object.fromEntries(Object.keys(job.env).map((k) => [k, '••••']));
  return {
    ...job,
    env: masked,
    timeoutMs: job.timeoutMs === null ? null : `${job.timeoutMs} (${duration(job.timeoutMs)})`,
    graceMs: `${job.graceMs} (${duration(job.graceMs)})`,
  };
}
