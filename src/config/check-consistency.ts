/**
 * Checks that keys of one entry agree with each other: a job is scheduled or a service, not both; a check has a
 * schedule or an interval; thresholds come in order; the API is not exposed without a token.
 */

import { DEFAULTS } from './defaults.ts';
import type { ConfigError, ConfigPath } from './errors.ts';
import { isLoopback } from './listen.ts';
import type { CheckInput, ConfigInput } from './schema.ts';
import type { JobInput, RetriesInput } from './schema/job.ts';
import { expandHeartbeat, expandRetries } from './shorthands.ts';
import { formatDuration, parseDuration } from './units.ts';
import type { ConfigSource } from './yaml-source.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Report = (path: ConfigPath, problem: string, fix: string, part?: 'key' | 'value') => void;

export function checkConsistency(config: ConfigInput, source: ConfigSource): ConfigError[] {
  const errors: ConfigError[] = [];
  const report: Report = (path, problem, fix, part) => errors.push(source.error(path, problem, fix, part));
  checkExposure(config, report);
  checkCluster(config, report);
  for (const [name, job] of Object.entries(config.jobs ?? {})) checkJob(name, job, report);
  for (const [name, check] of Object.entries(config.checks ?? {})) checkCheck(name, check, report);
  for (const [name, queue] of Object.entries(config.queues ?? {})) {
    checkRetries(['queues', name, 'retries'], queue.retries, DEFAULTS.queue.retries, report);
  }
  return errors;
}

/** Anything but loopback is reachable from outside the machine, and the API can start and stop jobs. */
function checkExposure(config: ConfigInput, report: Report): void {
  const listen = config.http?.listen;
  if (listen === undefined || isLoopback(listen.host) || (config.http?.token ?? '') !== '') return;
  const address = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const fix = 'set http.token: ${NIGHTSHIFT_TOKEN} and export NIGHTSHIFT_TOKEN=<a long random string>, or listen on 127.0.0.1';
  report(['http', 'listen'], `refusing to listen on ${address} without http.token`, fix);
}

function checkCluster(config: ConfigInput, report: Report): void {
  if (config.cluster === undefined) return;
  const { heartbeat, dead_after: deadAfter } = config.cluster;
  const heartbeatMs = heartbeat ?? parseDuration(DEFAULTS.cluster.heartbeat);
  const deadAfterMs = deadAfter ?? parseDuration(DEFAULTS.cluster.dead_after);
  // Under two heartbeats, one late heartbeat (a busy box, a slow database) gets a live node declared dead and its runs
  // killed and retried elsewhere.
  if (deadAfterMs >= 2 * heartbeatMs) return;
  report(
    ['cluster', deadAfter === undefined ? 'heartbeat' : 'dead_after'],
    `dead_after (${formatDuration(deadAfterMs)}) is less than two heartbeats (${formatDuration(heartbeatMs)} each)`,
    'make dead_after at least 3 heartbeats, like heartbeat: 5s, dead_after: 15s',
  );
}

function checkJob(name: string, job: JobInput, report: Report): void {
  const at = (...rest: (string | number)[]): ConfigPath => ['jobs', name, ...rest];
  if (job.schedule !== undefined && job.restart !== undefined) {
    const fix = 'remove restart: to run it on its schedule, or remove schedule: to keep it running as a service';
    report(at('restart'), 'a job cannot have both schedule and restart', fix);
  }
  if (job.timezone !== undefined && job.schedule === undefined) {
    report(at('timezone'), 'timezone has no effect without schedule', 'add schedule:, or remove timezone:');
  }
  checkRetries(at('retries'), job.retries, DEFAULTS.job.retries, report);
  if (typeof job.heartbeat === 'object') {
    const given = job.heartbeat;
    const { warnMs, restartMs, alertMs } = expandHeartbeat(given);
    const label = (key: 'warn' | 'restart' | 'alert') => (given[key] === undefined ? `the derived ${key}` : key);
    const warn = { label: label('warn'), ms: warnMs };
    const restart = { label: label('restart'), ms: restartMs };
    const alert = { label: label('alert'), ms: alertMs };
    if (restartMs < warnMs) inOrder(report, at('heartbeat', given.restart === undefined ? 'warn' : 'restart'), warn, restart);
    else inOrder(report, at('heartbeat', given.alert === undefined ? 'restart' : 'alert'), restart, alert);
  }
  for (const key of Object.keys(job.env ?? {})) {
    if (ENV_NAME.test(key)) continue;
    const fix = 'use letters, digits and _ (not starting with a digit), like API_KEY';
    report(at('env', key), `'${key}' is not a valid environment variable name`, fix, 'key');
  }
}

/** backoff ≤ max_backoff, defaults included (a job's or a queue's `retries:`). */
function checkRetries(
  path: ConfigPath,
  given: RetriesInput | undefined,
  defaults: Parameters<typeof expandRetries>[1],
  report: Report,
): void {
  if (typeof given !== 'object') return;
  const { backoffMs, maxBackoffMs } = expandRetries(given, defaults);
  const label = (key: 'backoff' | 'max_backoff') => (given[key] === undefined ? `the default ${key}` : key);
  const at = [...path, given.max_backoff === undefined ? 'backoff' : 'max_backoff'];
  inOrder(report, at, { label: label('backoff'), ms: backoffMs }, { label: label('max_backoff'), ms: maxBackoffMs });
}

interface Threshold {
  /** `restart`, or `the derived restart` when the user did not write it. */
  label: string;
  ms: number;
}

/** `later` must not be shorter than `earlier`; the error goes on a key the user wrote (`path`). */
function inOrder(report: Report, path: ConfigPath, earlier: Threshold, later: Threshold): void {
  if (later.ms >= earlier.ms) return;
  const key = (label: string) => label.replace(/^the (default|derived) /, '');
  report(
    path,
    `${later.label} (${formatDuration(later.ms)}) is shorter than ${earlier.label} (${formatDuration(earlier.ms)})`,
    `make ${key(later.label)} at least ${formatDuration(earlier.ms)}, or shorten ${key(earlier.label)}`,
  );
}

function checkCheck(name: string, check: CheckInput, report: Report): void {
  if (check.schedule !== undefined && check.every !== undefined) {
    const fix = 'keep schedule: for pings at fixed times, or every: for pings at a fixed interval';
    report(['checks', name, 'every'], 'a check takes schedule or every, not both', fix);
  } else if (check.schedule === undefined && check.every === undefined) {
    const problem = 'a check needs schedule or every to know when a ping is due';
    report(['checks', name], problem, 'add every: 1d, or schedule: "0 3 * * *"', 'key');
  }
  if (check.timezone !== undefined && check.schedule === undefined) {
    report(['checks', name, 'timezone'], 'timezone has no effect without schedule', 'add schedule:, or remove timezone:');
  }
}
