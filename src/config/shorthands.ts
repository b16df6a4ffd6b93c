/**
 * The shorthand forms of nightshift.yaml, expanded to their full form with defaults applied:
 * `retries: 3` = `{ max: 3 }`, `heartbeat: 5m` = `{ warn: 5m, restart: 15m, alert: 60m }`.
 */

import { DEFAULTS } from './defaults.ts';
import type { HeartbeatPolicy, RetryPolicy } from './types.ts';
import type { JobInput, RetriesInput } from './schema/job.ts';
import { parseDuration, parseRate } from './units.ts';

const RATIOS = DEFAULTS.heartbeat_ratios;

/**
 * Missing thresholds follow from the given ones by the ratios 1 : 3 : 12, counted from the first one given
 * (`{ restart: 6m }` → warn 2m, alert 24m).
 */
export function expandHeartbeat(input: NonNullable<JobInput['heartbeat']>): HeartbeatPolicy {
  if (typeof input === 'number') {
    return { warnMs: input * RATIOS.warn, restartMs: input * RATIOS.restart, alertMs: input * RATIOS.alert };
  }
  const unit =
    input.warn !== undefined ? input.warn / RATIOS.warn
    : input.restart !== undefined ? input.restart / RATIOS.restart
    : input.alert !== undefined ? input.alert / RATIOS.alert
    : undefined;
  // `heartbeat: {}` asks for heartbeats without saying how often: use the smallest sensible interval, 1 minute.
  const base = unit ?? 60_000;
  return {
    warnMs: input.warn ?? Math.round(base * RATIOS.warn),
    restartMs: input.restart ?? Math.round(base * RATIOS.restart),
    alertMs: input.alert ?? Math.round(base * RATIOS.alert),
  };
}

type RetriesDefaults = typeof DEFAULTS.job.retries | typeof DEFAULTS.queue.retries;

/** A job's `retries:` (or, given the queue defaults, a queue's: the same shape). */
export function expandRetries(input: RetriesInput | undefined, defaults: RetriesDefaults = DEFAULTS.job.retries): RetryPolicy {
  const given = typeof input === 'number' ? { max: input } : (input ?? {});
  const budget = given.budget ?? (defaults.budget === null ? null : parseRate(defaults.budget));
  return {
    max: given.max ?? defaults.max,
    backoffMs: given.backoff ?? parseDuration(defaults.backoff),
    maxBackoffMs: given.max_backoff ?? parseDuration(defaults.max_backoff),
    budget,
  };
}
