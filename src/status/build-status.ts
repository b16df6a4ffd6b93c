import { OUTBOX } from '../config/defaults.ts';
import type { JobConfig, JobKind, ResolvedConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import { Timeline } from '../scheduler/timeline.ts';
import { iso } from '../util/time.ts';
import { configuredChecks, viewChecks } from '../watch/check-plans.ts';
import { heldState, type HeldState } from '../supervisor/holds.ts';
import { checkJson, type CheckJson } from './check-json.ts';
import type { NodeView } from '../cluster/membership.ts';

/** A job's state as `status` shows it; the held ones (paused, halted, breaker_open, crash_loop) come first. */
export type JobState = 'idle' | 'running' | 'queued' | 'backoff' | HeldState;

export interface JobStatus {
  name: string;
  kind: JobKind;
  state: JobState;
  paused: boolean;
  /** Its runs running now: 0 or 1, or up to its queue's concurrency for a job with `queue:` (docs/tasks.md). */
  running_runs: number;
  /** Why it is held (halted, breaker_open, crash_loop, paused); null otherwise. */
  state_reason: string | null;
  /** How to get out of that state; null when there is nothing to do. */
  hint: string | null;
  schedule: string | null;
  next_run_at: string | null;
  /** The newest run that started or ended (not a queued one). */
  last_run: Run | null;
}

export interface DaemonInfo {
  pid: number;
  version: string;
  started_at: string;
  node: string;
  leader: boolean;
  /** The config file the daemon runs, absolute. */
  config_file: string;
  /** No later than when the daemon read that file (its start, or the reload that read it). */
  config_read_at: string;
}

export interface StatusJson {
  daemon: DaemonInfo | null;
  jobs: JobStatus[];
  checks: CheckJson[];
  incidents_open: number;
  /** Each configured alert channel and how its deliveries are going (a failing one is also an incident). */
  channels: ChannelStatus[];
  nodes: NodeView[];
}

export interface ChannelStatus {
  name: string;
  type: string;
  /** Notifications waiting to be sent to it. */
  pending: number;
  /** Its pending notification has failed this many times in a row (OUTBOX.failing_after makes it failing). */
  failing: boolean;
  last_error: string | null;
}

export interface StatusSources {
  config: ResolvedConfig;
  store: Store;
  /** Null when no daemon is running (the CLI reading the store directly). */
  daemon: DaemonInfo | null;
  /** Where pings go (the daemon's URL); checks' ping_url is built on it. */
  baseUrl: string;
  /** The cluster's nodes as the daemon last saw them (several on PostgreSQL); else this daemon is the one node. */
  nodes?: NodeView[];
  now?: number;
}

/** How many of each job's newest runs status looks at (its state, last run and queued runs come from these). */
export const RECENT_RUNS = 20;

/**
 * The `status --json` document, built from the config and the store alone, so the daemon's API and the CLI without
 * a daemon produce the same thing.
 */
export async function buildStatus(sources: StatusSources): Promise<StatusJson> {
  const now = sources.now ?? Date.now();
  const states = new Map((await sources.store.listJobStates()).map((s) => [s.job, s]));
  const breakers = await sources.store.listOpenBreakers();
  const jobs: JobStatus[] = [];
  let running = 0;
  const configured = Object.values(sources.config.jobs);
  // One store call for every job (not one or two per job): each job's newest runs and its running count.
  const summaries = await sources.store.jobRunSummaries(
    configured.map((job) => job.name),
    RECENT_RUNS,
  );
  for (const [i, job] of configured.entries()) {
    const { recent, running: runningCount } = summaries[i]!;
    const state = states.get(job.name);
    const paused = state?.paused ?? false;
    const active = recent.find((r) => r.status === 'running');
    const queued = recent.filter((r) => r.status === 'queued');
    // A queue-driven job runs several at once (one per task); the newest RECENT_RUNS may not hold them all.
    const runningNow = active ? runningCount : 0;
    running += runningNow;
    const held = heldState(job, state, breakers);
    // A crash-looping service is running between its crashes; the loop is what a human must see.
    const flowing = active ? 'running' : queued.some((r) => r.trigger === 'retry' || r.trigger === 'restart') ? 'backoff' : queued.length ? 'queued' : 'idle';
    jobs.push({
      name: job.name,
      kind: job.kind,
      state: held?.state ?? flowing,
      paused,
      running_runs: runningNow,
      state_reason: held?.reason ?? null,
      hint: held?.hint ?? null,
      schedule: job.schedule,
      next_run_at: nextRunAt(job, state?.last_fire_at ?? null, queued, now),
      last_run: recent.find((r) => r.status !== 'queued') ?? null,
    });
  }
  const daemon = sources.daemon;
  return {
    daemon,
    jobs,
    checks: viewChecks(await sources.store.listChecks(), configuredChecks(sources.config).plans, now).map((s) => checkJson(s, sources.baseUrl)),
    incidents_open: (await sources.store.listIncidents({ open: true, limit: 100_000 })).length,
    channels: await channelStatus(sources),
    nodes: sources.nodes ?? (daemon ? [{ name: daemon.node, leader: daemon.leader, last_seen_at: iso(now), running }] : []),
  };
}

function nextRunAt(job: JobConfig, lastFire: string | null, queued: Run[], now: number): string | null {
  const candidates = queued.map((r) => Date.parse(r.scheduled_at));
  if (job.schedule) {
    const from = Math.max(now, lastFire ? Date.parse(lastFire) : now);
    const next = new Timeline(job.schedule, job.timezone).nextAfter(from);
    if (next !== null) candidates.push(next);
  }
  return candidates.length ? iso(Math.min(...candidates)) : null;
}

async function channelStatus(sources: StatusSources): Promise<ChannelStatus[]> {
  const backlog = new Map((await sources.store.outboxSummary()).map((b) => [b.channel, b]));
  return Object.entries(sources.config.channels).map(([name, channel]) => {
    const b = backlog.get(name);
    const failing = b !== undefined && b.pending > 0 && b.attempts >= OUTBOX.failing_after;
    return { name, type: channel.type, pending: b?.pending ?? 0, failing, last_error: b !== undefined && b.pending > 0 ? b.last_error : null };
  });
}
