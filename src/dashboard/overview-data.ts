/**
 * What the overview shows, gathered from the same sources as `status --json` (buildStatus) plus each job's last runs
 * for its strip, the open incidents, the host findings and the daemon's health. Each job's newest runs come from one
 * store call shared with buildStatus (Store.jobRunSummaries: one runs_job_id search per job); nothing here scans the
 * history.
 */
import { DASHBOARD } from '../config/defaults.ts';
import type { ControlPlane, HealthReason, HostFindings } from '../http/control-plane.ts';
import { buildStatus, RECENT_RUNS, type ChannelStatus, type DaemonInfo, type JobStatus } from '../status/build-status.ts';
import type { CheckJson } from '../status/check-json.ts';
import type { Incident, JobRunSummary, Run, Store } from '../store/types.ts';

/** What the dashboard says a job is doing: status' state, with `late` when its dead-man's switch is down. */
export type DisplayState = JobStatus['state'] | 'late';

export interface JobRow extends JobStatus {
  display: DisplayState;
  /** Its dead-man's switch is down: an expected success did not arrive (shown even while it runs). */
  late: boolean;
  /** The newest runs that started or ended, oldest first. */
  strip: Run[];
  /** The run going on now, if any. */
  running: Run | null;
}

/** One thing a human should look at, with what to do about it. */
export interface Attention {
  tone: 'bad' | 'warn';
  title: string;
  fix: string | null;
  href: string | null;
}

export interface Overview {
  project: string;
  daemon: DaemonInfo | null;
  health: HealthReason[];
  jobs: JobRow[];
  checks: CheckJson[];
  incidents: Incident[];
  findings: HostFindings | null;
  channels: ChannelStatus[];
  attention: Attention[];
}

const HELD = new Set(['paused', 'halted', 'breaker_open', 'crash_loop']);

export async function buildOverview(plane: ControlPlane, nowMs: number): Promise<Overview> {
  const config = plane.config();
  const store = sharingJobRuns(plane.store);
  const status = await buildStatus({ config, store, daemon: plane.daemonInfo(), baseUrl: plane.url(), nodes: plane.clusterNodes?.(), now: nowMs });
  const jobChecks = new Map(status.checks.filter((c) => c.origin === 'job').map((c) => [c.name, c]));
  // The same call buildStatus made (shared below): each job's newest runs, for its strip.
  const summaries = await store.jobRunSummaries(
    status.jobs.map((job) => job.name),
    RECENT_RUNS,
  );
  const jobs: JobRow[] = [];
  for (const [i, job] of status.jobs.entries()) {
    const recent = summaries[i]?.recent ?? [];
    const settled = recent.filter((r) => r.status !== 'queued');
    const late = jobChecks.get(job.name)?.state === 'down';
    const display: DisplayState = HELD.has(job.state) || job.state === 'running' || !late ? job.state : 'late';
    jobs.push({
      ...job,
      display,
      late,
      strip: settled.slice(0, DASHBOARD.strip_runs).reverse(),
      running: recent.find((r) => r.status === 'running') ?? null,
    });
  }
  const incidents = await plane.store.listIncidents({ open: true, limit: 200 });
  const [health, findings] = await Promise.all([plane.healthReasons(), plane.hostFindings()]);
  return {
    project: config.project,
    daemon: status.daemon,
    health,
    jobs,
    checks: status.checks,
    incidents,
    findings,
    channels: status.channels,
    attention: attentionOf(jobs, incidents, findings, health),
  };
}

/**
 * The store, remembering its jobRunSummaries answers for the length of one overview, so the status builder and the
 * strips share one call for every job instead of two. Everything else goes straight through.
 */
function sharingJobRuns(store: Store): Store {
  const seen = new Map<string, Promise<JobRunSummary[]>>();
  const jobRunSummaries = (jobs: readonly string[], limit: number): Promise<JobRunSummary[]> => {
    const key = JSON.stringify([jobs, limit]);
    let summaries = seen.get(key);
    if (!summaries) seen.set(key, (summaries = store.jobRunSummaries(jobs, limit)));
    return summaries;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'jobRunSummaries') return jobRunSummaries;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * "What is wrong and what do I do": open incidents first (each has its fix), then held jobs not already covered by
 * an incident, then critical host findings, then the daemon's own health reasons no incident covers.
 */
function attentionOf(jobs: JobRow[], incidents: Incident[], findings: HostFindings | null, health: HealthReason[]): Attention[] {
  const items: Attention[] = incidents.map((i) => ({
    tone: 'bad' as const,
    title: i.summary,
    fix: typeof i.detail.fix === 'string' ? i.detail.fix : null,
    href: `/incidents/${encodeURIComponent(i.id)}`,
  }));
  const covered = new Set(incidents.map((i) => i.subject));
  for (const job of jobs) {
    if (!HELD.has(job.state) || covered.has(job.name)) continue;
    items.push({
      tone: job.state === 'paused' ? 'warn' : 'bad',
      title: `job ${job.name} is ${job.state.replace(/_/g, ' ')}${job.state_reason && job.state_reason !== job.state ? `: ${job.state_reason}` : ''}`,
      fix: job.hint,
      href: `/jobs/${encodeURIComponent(job.name)}`,
    });
  }
  for (const finding of findings?.findings ?? []) {
    if (finding.severity !== 'critical') continue;
    items.push({ tone: 'bad', title: `host: ${finding.title}`, fix: finding.fix, href: '#host' });
  }
  for (const reason of health) {
    if (covered.has(reason.subject)) continue;
    items.push({ tone: 'bad', title: reason.summary, fix: null, href: null });
  }
  return items;
}
