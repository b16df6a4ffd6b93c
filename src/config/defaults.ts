/**
 * THE one place nightshift's config defaults live.
 *
 * Each default is written as a user would write it in nightshift.yaml: durations and sizes as text with their unit
 * (`30s`, `10M`, `10%`), counts as numbers. Leaving a key out behaves as if you had written its default, and
 * docs/config.md shows it in the same spelling. `null` means "none" (no timeout, no rate limit). `resolveConfig()`
 * reads these; the schema reads them for the docs; nothing else in nightshift knows a default.
 *
 * A few defaults depend on where and how nightshift runs (the config file's directory, the host name); they are
 * computed in resolve.ts and described for the docs in COMPUTED_DEFAULTS below.
 */

export const DEFAULTS = {
  /** Relative to the config file's directory. */
  state_dir: '.nightshift',
  /** The SQLite file inside state_dir. */
  sqlite_file: 'state.db',
  cluster: { heartbeat: '5s', dead_after: '15s' },
  http: {
    listen: '127.0.0.1:8377',
    // Healthchecks.io's limit, so ping clients behave the same.
    ping_body_limit: '10000',
  },
  self_ping: null,
  limits: {
    max_concurrent_runs: 0,
    min_available_memory: '0',
  },
  logs: { max_total: '1G', min_free_disk: '10%' },
  // systemd's default TimeoutStopSec is 90s: 30s leaves room for the kill_grace of every running job.
  shutdown_grace: '30s',
  history: { keep_runs: 1000, max_age: '30d' },
  doctor: { ignore: [] as readonly string[] },
  // flap_window: a check that recovers and fails again within 2 minutes is one incident, not four messages.
  alerts: { renotify: null, flap_window: '2m', late_start: '1m' },
  job: {
    env_file: null,
    user: null,
    schedule: null,
    timezone: null,
    overlap: 'skip',
    catch_up: 'latest',
    timeout: null,
    kill_grace: '10s',
    max_runtime: null,
    retries: { max: 0, backoff: '10s', max_backoff: '10m', budget: null },
    heartbeat: null,
    grace: '1h',
    memory: null,
    cpu: null,
    logs: { max_size: '10M', keep: 5, compress: true },
    breaker: { group: null, stop_running: false },
    budget: null,
    queue: null,
    after: { on_stale: 'degrade' },
    node: null,
    restart: null,
    min_uptime: '30s',
    crash_loop: { failures: 5 },
  },
  /** `heartbeat: 5m` means warn at 5m, restart at 15m, alert at 60m (seed 003's ratios 1 : 3 : 12). */
  heartbeat_ratios: { warn: 1, restart: 3, alert: 12 },
  queue: { concurrency: 1, rate: null, retries: 3, lease: '5m' },
  check: { schedule: null, timezone: null, every: null, grace: '1h', uuid: null },
  channels: {
    webhook: { headers: {} as Readonly<Record<string, string>>, secret: null },
    telegram: { api_url: 'https://api.telegram.org' },
    ntfy: { token: null },
    pagerduty: { url: 'https://events.pagerduty.com/v2/enqueue' },
    // A local MTA (postfix, exim, nullmailer) on the VPS itself, the common setup.
    email: { smtp: { host: 'localhost', port: 25, secure: false, user: null, pass: null } },
  },
} as const;

/** How the defaults that depend on the machine and the file are worked out, in words, for docs/config.md. */
export const COMPUTED_DEFAULTS = {
  project: "the name of the config file's directory",
  node: '$NIGHTSHIFT_NODE, else <hostname>-<pid>',
  store: '$NIGHTSHIFT_DATABASE_URL, else sqlite (<state_dir>/state.db)',
  cwd: "the config file's directory",
  alerts_channels: 'every channel declared under channels:',
  email_from: 'nightshift@<hostname>',
  http_token: 'none: the daemon writes one to <state_dir>/api-token on first start',
} as const;

/**
 * How a service (`restart: always | on-failure`) backs off between restarts: the first restart after a run that
 * lasted `min_uptime` waits `initial`; each further quick exit doubles the wait, up to `max` (DESIGN.md: 1 s doubling
 * to 5 min, so an instant crasher has failed five times within about 20 s). Not a config key yet.
 */
export const SERVICE_RESTART_BACKOFF = { initial: '1s', max: '5m' } as const;

/**
 * How the outbox delivers a notification: each attempt may take `send_timeout`; a failed one is retried after
 * `backoff` doubling to `max_backoff`, for `max_attempts` in all (10 s doubling to 1 h over 30 attempts is a little
 * over a day), then given up and logged. A channel whose pending message has failed `failing_after` times in a row
 * is itself an incident (`channel_failing`), told on the other channels. Not config keys yet.
 */
export const OUTBOX = { send_timeout: '30s', backoff: '10s', max_backoff: '1h', max_attempts: 30, failing_after: 3 } as const;

/** Pings kept per check, newest first; Healthchecks.io keeps 100 on its free plan. */
export const PINGS_KEPT_PER_CHECK = 100;

/** A check made by a `?create=1` ping gets Healthchecks.io's defaults: a period of a day and an hour of grace. */
export const CREATED_CHECK = { every: '1d', grace: '1h' } as const;

/** While healthy, the daemon GETs `self_ping` this often (Healthchecks.io's own default period is a day; a minute
 * lets an outside check with a few minutes' grace notice a dead daemon quickly). */
export const SELF_PING_EVERY = '1m';

/**
 * How often the daemon looks for copies of a job running outside nightshift (process.duplicate), while the job runs
 * or is about to (src/watch/duplicate-watch.ts); also once right before each run starts. A scan reads one small
 * /proc file per process: a few ms on a VPS. Not a config key yet.
 */
export const DUPLICATE_SCAN_EVERY = '30s';

/**
 * Per-run limits (jobs' `memory:` and `cpu:`). `sample_every`: how often a run with a memory limit is looked at — its
 * tree's RSS where no cgroup enforces the limit, else the cgroup's OOM-kill count; a leak of 100 MB/s overshoots by
 * about 50 MB before the kill. `rss_search_every`: how often the RSS sampling looks for the run's processes anew in
 * all of /proc (about 17 ms of CPU per 90 host processes; the samples between re-read only those found).
 * `cpu_period`: the CFS period a `cpu:` quota is a share of (`cpu: 50%` = 50 ms of CPU per 100 ms, the kernel's
 * default period). Not config keys.
 */
export const RUN_LIMITS = { sample_every: '500ms', rss_search_every: '2s', cpu_period: '100ms' } as const;

/**
 * Admission (`limits.min_available_memory`): while MemAvailable is below the floor a due run waits queued, looked at
 * again every `recheck`; after `max_wait` it is skipped (`reason: memory`) rather than waiting forever. Not config keys.
 */
export const ADMISSION = { recheck: '5s', max_wait: '10m' } as const;
