/** `jobs.<name>`: one job — what to run, when, and how it is watched. */

import * as z from 'zod';
import { COMPUTED_DEFAULTS, DEFAULTS } from '../defaults.ts';
import { optional, required, section } from './field.ts';
import {
  bool,
  command,
  cronSchedule,
  duration,
  durationOrZero,
  integer,
  oneOf,
  percent,
  positiveDecimal,
  rate,
  size,
  text,
  textMap,
  timeZone,
} from './values.ts';

const JOB = DEFAULTS.job;
const WATCH_FLOOR = { min: 1000, why: 'the daemon watches at 1s resolution' };
const BACKOFF_FLOOR = { min: 100, why: 'faster retries only hammer what just failed' };

/** The defaults of a `retries:` mapping, as written in defaults.ts (a job's, or a queue's). */
interface RetriesDefaults {
  max: number;
  backoff: string;
  max_backoff: string;
  budget: string | null;
}

/**
 * `retries: 3` or `retries: { max, backoff, max_backoff, budget }`: one shape for a job and a queue (same keys, floors
 * and errors); only the defaults and what the budget does differ.
 */
export function retriesSchema(defaults: RetriesDefaults, budgetDescription: string) {
  const mapping = section({
    max: optional(integer({ min: 0, example: '3' }), {
      description: 'Retries after the first attempt (3 → up to 4 attempts).',
      default: defaults.max,
    }),
    backoff: optional(duration(BACKOFF_FLOOR), {
      description: 'Wait before the first retry; doubles on each further retry.',
      default: defaults.backoff,
    }),
    max_backoff: optional(duration(BACKOFF_FLOOR), {
      description: 'The longest wait between retries.',
      default: defaults.max_backoff,
    }),
    budget: optional(rate(), { description: budgetDescription, default: defaults.budget, example: 'budget: 10/1h' }),
  });
  return z.union([integer({ min: 0, example: '3' }), mapping]).meta({ type: 'whole number or mapping', example: 'retries: 3' });
}

const retries = retriesSchema(
  JOB.retries,
  'Failed attempts of this job allowed per rolling window, first attempts included; past it the job is halted and one alert goes out.',
);

/** What a `retries:` key holds once parsed (durations in ms, the budget a Rate), a job's or a queue's. */
export type RetriesInput = z.output<typeof retries>;

export const heartbeatObjectSchema = section({
  warn: optional(duration(WATCH_FLOOR), {
    description: 'Silent this long: a warning in the log and on the run.',
    computedDefault: 'restart ÷ 3, or alert ÷ 12',
  }),
  restart: optional(duration(WATCH_FLOOR), {
    description: 'Silent this long: the run is killed (reason stalled) and retried.',
    computedDefault: 'warn × 3',
  }),
  alert: optional(duration(WATCH_FLOOR), {
    description: 'Silent this long across retried attempts: a stalled incident.',
    computedDefault: 'warn × 12',
  }),
});

const heartbeat = z
  .union([duration(WATCH_FLOOR), heartbeatObjectSchema])
  .meta({ type: 'duration or mapping', example: 'heartbeat: 5m' });

export const jobSchema = section({
  command: required(command(), {
    description: 'What to run. A string runs under /bin/sh -c; a list runs without a shell.',
    example: 'command: python3 run.py',
  }),
  cwd: optional(text(), {
    description: "Working directory; relative paths are relative to the config file's directory.",
    computedDefault: COMPUTED_DEFAULTS.cwd,
  }),
  env: optional(textMap(), {
    description: 'Extra environment variables for the run.',
    default: {},
    example: 'env: { MODE: full }',
  }),
  env_file: optional(text(), {
    description: "A dotenv file loaded into the run's environment (relative to the config file's directory).",
    default: JOB.env_file,
  }),
  user: optional(text(), { description: 'Run as this user (the daemon must run as root).', default: JOB.user }),
  schedule: optional(cronSchedule(), {
    description: 'Cron schedule, 5 fields or 6 with seconds first. Makes the job scheduled.',
    default: JOB.schedule,
    example: 'schedule: "0 * * * *"',
  }),
  timezone: optional(timeZone(), {
    description: "IANA time zone of the schedule; none = the host's local zone.",
    default: JOB.timezone,
  }),
  overlap: optional(oneOf(['skip', 'queue', 'replace']), {
    description: 'When a run is due while one is still running: skip it (recorded), queue it, or replace the running one.',
    default: JOB.overlap,
  }),
  catch_up: optional(oneOf(['none', 'latest']), {
    description: 'Runs missed while the daemon was down: none, or run the latest once.',
    default: JOB.catch_up,
  }),
  timeout: optional(duration(), {
    description: 'Hard deadline: SIGTERM to the whole process tree, SIGKILL after kill_grace.',
    default: JOB.timeout,
    example: 'timeout: 10m',
  }),
  kill_grace: optional(durationOrZero(), { description: 'Time between SIGTERM and SIGKILL.', default: JOB.kill_grace }),
  max_runtime: optional(duration(), {
    description: 'A run longer than this opens a long_run incident; it is not killed.',
    default: JOB.max_runtime,
  }),
  retries: optional(retries, {
    description: 'Retries after a failed attempt. `retries: 3` is shorthand for `{ max: 3 }`.',
    default: JOB.retries.max,
    example: 'retries: 3',
  }),
  heartbeat: optional(heartbeat, {
    description: 'Expect heartbeats from a running run. `heartbeat: 5m` is shorthand for `{ warn: 5m, restart: 15m, alert: 60m }`.',
    default: JOB.heartbeat,
    example: 'heartbeat: 5m',
  }),
  grace: optional(duration(WATCH_FLOOR), {
    description: "Dead-man's switch: a success later than the next fire plus this opens job_late.",
    default: JOB.grace,
  }),
  memory: optional(size({ min: 1024 ** 2 }), {
    description: 'Memory limit of the run; above it the run is killed (reason memory).',
    default: JOB.memory,
    example: 'memory: 512M',
  }),
  cpu: optional(percent({ max: 100_000 }), {
    description: 'CPU limit in percent of one core (200% = two cores).',
    default: JOB.cpu,
    example: 'cpu: 50%',
  }),
  logs: optional(
    section({
      max_size: optional(size({ min: 1024 }), {
        description: 'Rotate the output file at this size.',
        default: JOB.logs.max_size,
      }),
      keep: optional(integer({ min: 0, example: '5' }), {
        description: 'Rotated files to keep.',
        default: JOB.logs.keep,
      }),
      compress: optional(bool(), { description: 'Gzip rotated files.', default: JOB.logs.compress }),
    }),
    { description: "The job's output files.", example: 'logs: { max_size: 50M, keep: 14 }' },
  ),
  breaker: optional(
    section({
      outputs: required(integer({ min: 1, example: '20' }), {
        description: 'Outputs allowed per window before the breaker opens.',
        example: 'outputs: 20',
      }),
      per: required(duration(WATCH_FLOOR), { description: 'The rolling window.', example: 'per: 10m' }),
      group: optional(text(), {
        description: 'Jobs with the same group share one breaker.',
        default: JOB.breaker.group,
      }),
      stop_running: optional(bool(), {
        description: 'When the breaker opens, also kill the runs behind it that are running (else they finish).',
        default: JOB.breaker.stop_running,
      }),
    }),
    {
      description: 'Circuit breaker on outputs (counted with `nightshift output`).',
      default: null,
      example: 'breaker: { outputs: 20, per: 10m }',
    },
  ),
  budget: optional(
    section({
      spend: required(positiveDecimal('5.00'), {
        description: 'Spend allowed per window (counted with `nightshift output --spend`).',
        example: 'spend: 5.00',
      }),
      per: required(duration(WATCH_FLOOR), { description: 'The rolling window.', example: 'per: 1d' }),
    }),
    {
      description: 'Spend budget: past it the job does not start (a breaker, closed by `nightshift resume`).',
      default: JOB.budget,
      example: 'budget: { spend: 5.00, per: 1d }',
    },
  ),
  queue: optional(text(), {
    description: 'A queue declared under queues:; the job runs once per task.',
    default: JOB.queue,
  }),
  after: optional(
    section({
      job: required(text(), { description: 'The upstream job.', example: 'job: scan' }),
      max_age: required(duration(WATCH_FLOOR), {
        description: "The upstream's last success must be at most this old.",
        example: 'max_age: 2h',
      }),
      on_stale: optional(oneOf(['degrade', 'skip']), {
        description: 'When it is older: run degraded (NIGHTSHIFT_DEGRADED=1) or skip.',
        default: DEFAULTS.job.after.on_stale,
      }),
    }),
    {
      description: 'Depend on the freshness of an upstream job.',
      default: null,
      example: 'after: { job: scan, max_age: 2h }',
    },
  ),
  node: optional(text(), { description: 'Run the job only on the node of this name (PostgreSQL store; fired or started anywhere, it is queued for that node).', default: JOB.node }),
  restart: optional(oneOf(['always', 'on-failure']), {
    description: 'Makes the job a service, kept running with backoff on crashes.',
    default: JOB.restart,
  }),
  min_uptime: optional(duration(), {
    description: 'A service start that exits sooner counts as a quick failure.',
    default: JOB.min_uptime,
  }),
  crash_loop: optional(
    section({
      failures: optional(integer({ min: 1, example: '5' }), {
        description: 'Quick failures in a row that make the job crash_loop.',
        default: JOB.crash_loop.failures,
      }),
    }),
    { description: 'When a service counts as crash-looping.', example: 'crash_loop: { failures: 5 }' },
  ),
}, '{ command: python3 run.py, schedule: "0 * * * *" }');

export type JobInput = z.output<typeof jobSchema>;
