/** One job as written (units parsed) → its JobConfig with every default applied. */

import { resolve as resolvePath } from 'node:path';
import { DEFAULTS, SERVICE_RESTART_BACKOFF } from './defaults.ts';
import type { JobInput } from './schema/job.ts';
import { expandHeartbeat, expandRetries } from './shorthands.ts';
import type { JobConfig, JobKind } from './types.ts';
import { parseDuration, parseSize } from './units.ts';

const JOB = DEFAULTS.job;

/** A default duration that may be "none". */
export function defaultMs(value: string | null): number | null {
  return value === null ? null : parseDuration(value);
}

export function defaultBytes(value: string | null): number | null {
  return value === null ? null : parseSize(value);
}

export function jobKind(job: Pick<JobInput, 'schedule' | 'restart'>): JobKind {
  if (job.schedule !== undefined) return 'scheduled';
  if (job.restart !== undefined) return 'service';
  return 'triggered';
}

export function resolveJob(name: string, job: JobInput, configDir: string): JobConfig {
  const defaultHeartbeat = defaultMs(JOB.heartbeat);
  return {
    name,
    kind: jobKind(job),
    command: job.command,
    cwd: resolvePath(configDir, job.cwd ?? '.'),
    env: { ...job.env },
    envFile: job.env_file === undefined ? JOB.env_file : resolvePath(configDir, job.env_file),
    user: job.user ?? JOB.user,
    schedule: job.schedule ?? JOB.schedule,
    timezone: job.timezone ?? JOB.timezone,
    overlap: job.overlap ?? JOB.overlap,
    catchUp: job.catch_up ?? JOB.catch_up,
    timeoutMs: job.timeout ?? defaultMs(JOB.timeout),
    killGraceMs: job.kill_grace ?? parseDuration(JOB.kill_grace),
    maxRuntimeMs: job.max_runtime ?? defaultMs(JOB.max_runtime),
    retries: expandRetries(job.retries),
    heartbeat: job.heartbeat !== undefined ? expandHeartbeat(job.heartbeat) : defaultHeartbeat === null ? null : expandHeartbeat(defaultHeartbeat),
    graceMs: job.grace ?? parseDuration(JOB.grace),
    memoryBytes: job.memory ?? defaultBytes(JOB.memory),
    cpuPercent: job.cpu ?? JOB.cpu,
    logs: {
      maxSizeBytes: job.logs?.max_size ?? parseSize(JOB.logs.max_size),
      keep: job.logs?.keep ?? JOB.logs.keep,
      compress: job.logs?.compress ?? JOB.logs.compress,
    },
    breaker:
      job.breaker === undefined
        ? null
        : {
            outputs: job.breaker.outputs,
            perMs: job.breaker.per,
            group: job.breaker.group ?? JOB.breaker.group,
            stopRunning: job.breaker.stop_running ?? JOB.breaker.stop_running,
          },
    budget: job.budget === undefined ? JOB.budget : { spend: job.budget.spend, perMs: job.budget.per },
    queue: job.queue ?? JOB.queue,
    after: job.after === undefined ? null : { job: job.after.job, maxAgeMs: job.after.max_age, onStale: job.after.on_stale ?? JOB.after.on_stale },
    node: job.node ?? JOB.node,
    restart: job.restart ?? JOB.restart,
    minUptimeMs: job.min_uptime ?? parseDuration(JOB.min_uptime),
    crashLoop: { failures: job.crash_loop?.failures ?? JOB.crash_loop.failures },
    restartBackoff: {
      initialMs: parseDuration(SERVICE_RESTART_BACKOFF.initial),
      maxMs: parseDuration(SERVICE_RESTART_BACKOFF.max),
    },
  };
}
