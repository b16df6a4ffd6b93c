/**
 * Upstream freshness (docs/coordination.md): has the job whose output this one uses succeeded recently? A downstream
 * agent asks instead of waiting on a dead upstream, and does what it can without it (seed 002).
 *
 * @example
 * ```ts
 * import { upstream } from 'nightshift/sdk';
 * if (!(await upstream.fresh('scan', { within: '2h' }))) {
 *   console.log('scan is stale: writing from yesterday\'s data');
 * }
 * ```
 *
 * The config can do this for a whole job: `after: { job: scan, max_age: 2h, on_stale: degrade | skip }`.
 * CLI twin: `nightshift upstream JOB --within 2h` (exit 0 fresh, 1 stale). HTTP: `GET /api/v1/upstream/JOB?within=2h`.
 */
import type { Freshness } from '../coordination/upstream.ts';
import { call, daemonFromEnv, durationArg, type DaemonAddress } from './client.ts';

export type { Freshness };

export interface UpstreamOptions {
  /**
   * How recent its last success must be: '2h', or milliseconds. Left out inside a run whose job has `after:` on this
   * job, its `max_age` is used.
   */
  within?: string | number;
}

export interface UpstreamApi {
  /** True when `job`'s last successful run ended within the window (for a service: it beat within it). */
  fresh(job: string, options?: UpstreamOptions): Promise<boolean>;
  /** The facts behind `fresh`: last success, age, the window. */
  check(job: string, options?: UpstreamOptions): Promise<Freshness>;
}

export function upstreamClient(daemon: () => DaemonAddress): UpstreamApi {
  const api: UpstreamApi = {
    async check(job, options = {}) {
      const within = options.within === undefined ? '' : `?within=${encodeURIComponent(durationArg(options.within))}`;
      return call<Freshness>(daemon(), 'GET', `/upstream/${encodeURIComponent(job)}${within}`);
    },
    async fresh(job, options = {}) {
      return (await api.check(job, options)).fresh;
    },
  };
  return api;
}

export const upstream: UpstreamApi = upstreamClient(() => daemonFromEnv());
