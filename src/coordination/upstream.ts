/**
 * Upstream freshness (seed 002's "heartbeat degradation"): a downstream job asks whether its upstream produced
 * something recently, and runs degraded — or not at all — instead of hanging on a dead one.
 *
 * A job is fresh within a window when its last successful run ended within it. A service (`restart:`) never ends
 * while it is healthy, so for one a running run's last sign of life counts too: its newest heartbeat, or its start
 * before the first heartbeat.
 */
import type { AfterConfig, JobConfig } from '../config/types.ts';
import type { Store } from '../store/types.ts';
import { humanDuration } from '../util/time.ts';

/** What `GET /api/v1/upstream/:job` answers; `upstream.fresh()` returns its `fresh`. */
export interface Freshness {
  job: string;
  fresh: boolean;
  /** When its last successful run ended; null when none is recorded. */
  last_success_at: string | null;
  /** For a service: its running run's newest heartbeat (or start); null otherwise. */
  alive_at: string | null;
  /** How long ago the newer of the two was; null when neither is known. */
  age_ms: number | null;
  within_ms: number;
}

/** How fresh `job` is; `kind` is its kind from the config, or null for a job only `exec` recorded. */
export async function freshnessOf(store: Store, job: string, kind: JobConfig['kind'] | null, withinMs: number, nowMs: number): Promise<Freshness> {
  const activity = await store.jobActivity(job);
  const alive = kind === 'service' ? activity.running_alive_at : null;
  const newest = Math.max(...[activity.last_success_at, alive].filter((t): t is string => t !== null).map(Date.parse), -Infinity);
  const ageMs = Number.isFinite(newest) ? Math.max(0, nowMs - newest) : null;
  return { job, fresh: ageMs !== null && ageMs <= withinMs, last_success_at: activity.last_success_at, alive_at: alive, age_ms: ageMs, within_ms: withinMs };
}

/** Why a start of a job with `after:` must skip or run degraded, or null when its upstream is fresh (or it has none). */
export async function judgeUpstream(
  store: Store,
  after: AfterConfig | null,
  jobs: Readonly<Record<string, JobConfig>>,
  nowMs: number,
): Promise<{ onStale: AfterConfig['onStale']; why: string } | null> {
  if (after === null) return null;
  const freshness = await freshnessOf(store, after.job, jobs[after.job]?.kind ?? null, after.maxAgeMs, nowMs);
  if (freshness.fresh) return null;
  const limit = `max_age ${humanDuration(after.maxAgeMs)}`;
  const kind = jobs[after.job]?.kind ?? null;
  const what = kind === 'service' ? 'was last seen alive' : 'last succeeded';
  const why =
    freshness.age_ms === null
      ? `upstream ${after.job} has never ${kind === 'service' ? 'run' : 'succeeded'} (${limit})`
      : `upstream ${after.job} ${what} ${humanDuration(freshness.age_ms)} ago (${limit})`;
  return { onStale: after.onStale, why };
}
