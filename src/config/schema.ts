/**
 * The whole of nightshift.yaml as one zod schema. Every key is optional unless marked required, every mapping is
 * strict (unknown keys are errors), and every key documents itself (description, default, example) for
 * docs/config.md. Units are parsed here (durations → ms, sizes → bytes); defaults are applied later, in resolve.ts.
 */

import * as z from 'zod';
import { COMPUTED_DEFAULTS, DEFAULTS } from './defaults.ts';
import { channelSchema } from './schema/channels.ts';
import { optional, section } from './schema/field.ts';
import { jobSchema, retriesSchema } from './schema/job.ts';
import {
  cronSchedule,
  duration,
  httpUrl,
  integer,
  listen,
  listOf,
  percentOrSize,
  rate,
  size,
  store,
  text,
  timeZone,
  uuid,
} from './schema/values.ts';

/** `jobs:`, `checks:` …: entries by name. Names are checked in check-references.ts, where key positions are known. */
function namedEntries<S extends z.ZodType>(entry: S, what: string) {
  return z.record(z.string(), entry).meta({ type: `mapping of ${what} names` });
}

const WATCH_FLOOR = { min: 1000, why: 'the daemon watches at 1s resolution' };

const queueSchema = section({
  concurrency: optional(integer({ min: 1, example: '1' }), {
    description: 'Tasks of this queue running at once.',
    default: DEFAULTS.queue.concurrency,
  }),
  rate: optional(rate(), {
    description: 'Tasks started per rolling window, e.g. 10/1h.',
    default: DEFAULTS.queue.rate,
    example: 'rate: 10/1h',
  }),
  retries: optional(
    retriesSchema(
      DEFAULTS.queue.retries,
      "Failed attempts of this queue's tasks allowed per rolling window, first attempts included; past it the queue hands out no retries until the window lets one through, and one alert goes out.",
    ),
    {
      description: 'Retries of a failed task before it is dead, as a job\'s: `retries: 3` is shorthand for `{ max: 3 }`.',
      default: DEFAULTS.queue.retries.max,
      example: 'retries: 3',
    },
  ),
  lease: optional(duration(WATCH_FLOOR), {
    description: 'A claimed task returns to the queue if not completed or extended within this.',
    default: DEFAULTS.queue.lease,
  }),
}, '{ concurrency: 1, rate: 10/1h }');

const checkSchema = section({
  schedule: optional(cronSchedule(), {
    description: 'When a ping is expected (cron, 5 or 6 fields). Give schedule or every.',
    default: DEFAULTS.check.schedule,
    example: 'schedule: "0 3 * * *"',
  }),
  timezone: optional(timeZone(), {
    description: "Time zone of the schedule; none = the host's local zone.",
    default: DEFAULTS.check.timezone,
  }),
  every: optional(duration(WATCH_FLOOR), {
    description: 'A ping is expected this often. Give schedule or every.',
    default: DEFAULTS.check.every,
    example: 'every: 1d',
  }),
  grace: optional(duration(WATCH_FLOOR), {
    description: 'How late a ping may be before the check is down.',
    default: DEFAULTS.check.grace,
  }),
  uuid: optional(uuid(), {
    description: 'Fixed ping UUID, so an existing /ping/<uuid> URL keeps working.',
    computedDefault: 'generated once and kept in the store',
  }),
}, '{ every: 1d, grace: 1h }');

export const configSchema = section({
  project: optional(text(), {
    description: 'Names the state and appears in alerts.',
    computedDefault: COMPUTED_DEFAULTS.project,
  }),
  state_dir: optional(text(), {
    description: "Holds state.db, logs/ and the API token; relative to the config file's directory.",
    default: DEFAULTS.state_dir,
  }),
  store: optional(store(), {
    description: 'sqlite (one machine), or a postgres:// URL shared by several nodes; put its password in ${VAR} (docs/scale-out.md).',
    computedDefault: COMPUTED_DEFAULTS.store,
  }),
  node: optional(text(), {
    description: "This node's name: shown in status, recorded on its runs, what jobs.<name>.node pins to; unique among live nodes.",
    computedDefault: COMPUTED_DEFAULTS.node,
  }),
  cluster: optional(
    section({
      heartbeat: optional(duration(WATCH_FLOOR), {
        description: 'How often a node marks itself alive.',
        default: DEFAULTS.cluster.heartbeat,
      }),
      dead_after: optional(duration(WATCH_FLOOR), {
        description: 'A node silent this long is dead: its runs are lost and retried elsewhere; a new leader fires within dead_after + heartbeat. At least two heartbeats.',
        default: DEFAULTS.cluster.dead_after,
      }),
    }),
    { description: 'Several nodes on one PostgreSQL database (docs/scale-out.md).', example: 'cluster: { heartbeat: 5s, dead_after: 15s }' },
  ),
  http: optional(
    section({
      listen: optional(listen(), {
        description: 'Address of the HTTP API. Anything but loopback requires token.',
        default: DEFAULTS.http.listen,
      }),
      token: optional(text(), {
        description: 'Bearer token for the API; write ${NIGHTSHIFT_TOKEN} to keep it out of the file. Empty = none.',
        computedDefault: COMPUTED_DEFAULTS.http_token,
      }),
      ping_key: optional(text(), { description: 'Enables /ping/<ping_key>/<check name> URLs.', default: null }),
      ping_body_limit: optional(size(), {
        description: 'Bytes of a ping body kept (Healthchecks.io: 10000).',
        default: DEFAULTS.http.ping_body_limit,
      }),
    }),
    { description: 'The HTTP API: pings, health, metrics, REST.', example: 'http: { listen: 127.0.0.1:8377 }' },
  ),
  self_ping: optional(httpUrl(), {
    description: 'The daemon pings this URL (e.g. Healthchecks.io) to prove it is alive.',
    default: DEFAULTS.self_ping,
  }),
  limits: optional(
    section({
      max_concurrent_runs: optional(integer({ min: 0, example: '2' }), {
        description: 'Runs at once across all jobs; 0 = no limit.',
        default: DEFAULTS.limits.max_concurrent_runs,
      }),
      min_available_memory: optional(size(), {
        description: 'Do not start runs while less memory than this is available.',
        default: DEFAULTS.limits.min_available_memory,
      }),
    }),
    { description: 'Admission control for the whole machine.', example: 'limits: { max_concurrent_runs: 2 }' },
  ),
  logs: optional(
    section({
      max_total: optional(size(), {
        description: 'All job logs together stay below this.',
        default: DEFAULTS.logs.max_total,
      }),
      min_free_disk: optional(percentOrSize(), {
        description: 'Stop log growth when free disk falls below this (percent or size).',
        default: DEFAULTS.logs.min_free_disk,
      }),
    }),
    { description: 'Caps on captured output.', example: 'logs: { max_total: 1G, min_free_disk: 10% }' },
  ),
  shutdown_grace: optional(duration({ min: 0 }), {
    description: 'On SIGTERM, how long the daemon lets runs finish before it kills them.',
    default: DEFAULTS.shutdown_grace,
  }),
  history: optional(
    section({
      keep_runs: optional(integer({ min: 1, example: '1000' }), {
        description: 'Runs kept per job; older ones are pruned.',
        default: DEFAULTS.history.keep_runs,
      }),
      max_age: optional(duration(WATCH_FLOOR), {
        description: 'Runs older than this are pruned.',
        default: DEFAULTS.history.max_age,
      }),
    }),
    { description: 'Pruning of recorded runs.', example: 'history: { keep_runs: 1000, max_age: 30d }' },
  ),
  doctor: optional(
    section({
      ignore: optional(listOf(text(), 'finding ids'), {
        description: 'doctor finding ids to silence, e.g. swap.none.',
        default: DEFAULTS.doctor.ignore,
      }),
    }),
    { description: '`nightshift doctor` settings.', example: 'doctor: { ignore: [swap.none] }' },
  ),
  channels: optional(namedEntries(channelSchema, 'channel'), {
    description: 'Where notifications go, by name.',
    default: {},
    example: 'channels: { ops: { type: webhook, url: https://example.com/hook } }',
  }),
  alerts: optional(
    section({
      channels: optional(listOf(text(), 'channel names'), {
        description: 'Channels that receive incidents.',
        computedDefault: COMPUTED_DEFAULTS.alerts_channels,
      }),
      renotify: optional(duration({ min: 60_000, why: 'a reminder more often than a minute is noise' }), {
        description: 'Repeat the notification of a still-open incident this often.',
        default: DEFAULTS.alerts.renotify,
      }),
      flap_window: optional(duration({ min: 0 }), {
        description:
          'A recovery is told only after the condition stayed clear this long; if it comes back sooner, the same incident stays open and nobody is told twice.',
        default: DEFAULTS.alerts.flap_window,
      }),
      late_start: optional(duration({ min: 1000, why: 'starts are scheduled to the second' }), {
        description: 'A scheduled run that starts later than this after its fire opens a late_start incident.',
        default: DEFAULTS.alerts.late_start,
      }),
    }),
    { description: 'Who hears about incidents.', example: 'alerts: { channels: [ops], renotify: 6h }' },
  ),
  queues: optional(namedEntries(queueSchema, 'queue'), {
    description: "Durable task queues, by name. A job's queue: must name one of them.",
    default: {},
    example: 'queues: { articles: { concurrency: 1 } }',
  }),
  jobs: optional(namedEntries(jobSchema, 'job'), {
    description:
      'The jobs, by name. A job with schedule is scheduled; one with restart is a service, kept running; ' +
      'one with neither is triggered (by the CLI, the API or a queue task). schedule and restart together are an error.',
    default: {},
    example: 'jobs: { scan: { command: python3 run.py } }',
  }),
  checks: optional(namedEntries(checkSchema, 'check'), {
    description: "Dead-man's switches for scripts outside nightshift that ping in.",
    default: {},
    example: 'checks: { backup: { every: 1d } }',
  }),
});

export type ConfigInput = z.output<typeof configSchema>;
export type QueueInput = z.output<typeof queueSchema>;
export type CheckInput = z.output<typeof checkSchema>;

