/**
 * The one function that applies defaults: a validated config (units parsed, keys optional) → ResolvedConfig (every
 * field present, durations in ms, sizes in bytes, paths absolute). Defaults come from defaults.ts only.
 */

import { basename, dirname, resolve as resolvePath } from 'node:path';
import { DEFAULTS } from './defaults.ts';
import { ConfigError, ConfigErrors } from './errors.ts';
import type { Env } from './interpolate.ts';
import { readListen } from './listen.ts';
import { emptyToNull, resolveChannel } from './resolve-channel.ts';
import { defaultMs, resolveJob } from './resolve-job.ts';
import { expandRetries } from './shorthands.ts';
import type { CheckInput, ConfigInput, QueueInput } from './schema.ts';
import type { CheckConfig, QueueConfig, ResolvedConfig, StoreConfig } from './types.ts';
import { parseDuration, parsePercentOrSize, parseRate, parseSize } from './units.ts';

export interface ResolveContext {
  /** The config file; relative paths in it are relative to its directory. */
  configPath: string;
  /** Read for NIGHTSHIFT_NODE and NIGHTSHIFT_DATABASE_URL when the file does not set node: / store:. */
  env: Env;
  /** With `pid`, names the node when neither node: nor NIGHTSHIFT_NODE does. */
  hostname: string;
  pid: number;
}

export function resolveConfig(config: ConfigInput, context: ResolveContext): ResolvedConfig {
  const configPath = resolvePath(context.configPath);
  const configDir = dirname(configPath);
  const stateDir = resolvePath(configDir, config.state_dir ?? DEFAULTS.state_dir);
  const channels = mapValues(config.channels, (channel) => resolveChannel(channel, context.hostname));
  return {
    configPath,
    configDir,
    project: config.project ?? basename(configDir),
    stateDir,
    store: resolveStore(config, context, stateDir, configPath),
    node: config.node ?? nonEmpty(context.env['NIGHTSHIFT_NODE']) ?? `${context.hostname}-${context.pid}`,
    cluster: {
      heartbeatMs: config.cluster?.heartbeat ?? parseDuration(DEFAULTS.cluster.heartbeat),
      deadAfterMs: config.cluster?.dead_after ?? parseDuration(DEFAULTS.cluster.dead_after),
    },
    http: {
      ...(config.http?.listen ?? readListen(DEFAULTS.http.listen)),
      token: emptyToNull(config.http?.token) ?? null,
      pingKey: emptyToNull(config.http?.ping_key) ?? null,
      pingBodyLimitBytes: config.http?.ping_body_limit ?? parseSize(DEFAULTS.http.ping_body_limit),
    },
    selfPing: config.self_ping ?? DEFAULTS.self_ping,
    limits: {
      maxConcurrentRuns: config.limits?.max_concurrent_runs ?? DEFAULTS.limits.max_concurrent_runs,
      minAvailableMemoryBytes: config.limits?.min_available_memory ?? parseSize(DEFAULTS.limits.min_available_memory),
    },
    logs: {
      maxTotalBytes: config.logs?.max_total ?? parseSize(DEFAULTS.logs.max_total),
      minFreeDisk: config.logs?.min_free_disk ?? parsePercentOrSize(DEFAULTS.logs.min_free_disk),
    },
    history: {
      keepRunsPerJob: config.history?.keep_runs ?? DEFAULTS.history.keep_runs,
      maxAgeMs: config.history?.max_age ?? parseDuration(DEFAULTS.history.max_age),
    },
    shutdownGraceMs: config.shutdown_grace ?? parseDuration(DEFAULTS.shutdown_grace),
    doctor: { ignore: [...(config.doctor?.ignore ?? DEFAULTS.doctor.ignore)] },
    channels,
    alerts: {
      // A declared channel that hears nothing is almost always a mistake, so by default every channel is alerted.
      channels: [...(config.alerts?.channels ?? Object.keys(channels))],
      renotifyMs: config.alerts?.renotify ?? defaultMs(DEFAULTS.alerts.renotify),
      flapWindowMs: config.alerts?.flap_window ?? parseDuration(DEFAULTS.alerts.flap_window),
      lateStartMs: config.alerts?.late_start ?? parseDuration(DEFAULTS.alerts.late_start),
    },
    queues: mapValues(config.queues, resolveQueue),
    jobs: mapValues(config.jobs, (job, name) => resolveJob(name, job, configDir)),
    checks: mapValues(config.checks, resolveCheck),
  };
}

function resolveStore(config: ConfigInput, context: ResolveContext, stateDir: string, configPath: string): StoreConfig {
  const sqlite: StoreConfig = { kind: 'sqlite', path: resolvePath(stateDir, DEFAULTS.sqlite_file) };
  if (config.store !== undefined) return config.store.kind === 'postgres' ? config.store : sqlite;
  const url = nonEmpty(context.env['NIGHTSHIFT_DATABASE_URL']);
  if (url === undefined) return sqlite;
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) {
    // Not in the file, so no line to point at; the value is not echoed because it may hold a password.
    throw new ConfigErrors([
      new ConfigError({
        file: configPath,
        line: null,
        column: null,
        path: 'store',
        problem: 'NIGHTSHIFT_DATABASE_URL is set but is not a postgres:// URL',
        fix: 'set it to postgres://user:password@host/db, or unset it to use sqlite',
      }),
    ]);
  }
  return { kind: 'postgres', url };
}

function resolveQueue(queue: QueueInput, name: string): QueueConfig {
  const defaults = DEFAULTS.queue;
  return {
    name,
    concurrency: queue.concurrency ?? defaults.concurrency,
    rate: queue.rate ?? (defaults.rate === null ? null : parseRate(defaults.rate)),
    retries: expandRetries(queue.retries, defaults.retries),
    leaseMs: queue.lease ?? parseDuration(defaults.lease),
  };
}

function resolveCheck(check: CheckInput, name: string): CheckConfig {
  const defaults = DEFAULTS.check;
  return {
    name,
    schedule: check.schedule ?? defaults.schedule,
    timezone: check.timezone ?? defaults.timezone,
    everyMs: check.every ?? defaultMs(defaults.every),
    graceMs: check.grace ?? parseDuration(defaults.grace),
    uuid: check.uuid ?? defaults.uuid,
  };
}

/** Keeps the file's order, which `jobs` promises. */
function mapValues<In, Out>(record: Readonly<Record<string, In>> | undefined, map: (value: In, name: string) => Out): Record<string, Out> {
  // fromEntries defines own properties, so even a name like __proto__ stays a plain key.
  return Object.fromEntries(Object.entries(record ?? {}).map(([name, value]) => [name, map(value, name)]));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
