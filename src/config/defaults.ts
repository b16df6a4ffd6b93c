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
  /**
   * A queue's `retries` take a job's shape. A failed task waits `backoff` doubling to `max_backoff` (full jitter, as
   * a job's retries); `budget`: charged failed attempts of the queue's tasks per rolling window, none by default.
   */
  queue: { concurrency: 1, rate: null, retries: { max: 3, backoff: '10s', max_backoff: '10m', budget: null }, lease: '5m' },
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

/**
 * Task queues (docs/tasks.md); their retry backoff is `DEFAULTS.queue.retries` (a config key). `max_wait`: the
 * longest a claim long-poll is held open; `worker_wait`: what an SDK worker asks for (under common proxies' 30–60 s idle timeouts). `max_payload`: bytes of a payload's or
 * result's JSON. `env_payload`: a queue-driven run gets its payload in NIGHTSHIFT_TASK_PAYLOAD up to this many
 * bytes (Linux allows 128 KiB per variable), else only NIGHTSHIFT_TASK_URL to fetch it. `max_key`: characters of
 * an idempotency key. `extend_every`: an SDK worker extends its lease at this fraction of it. `prune_every`: how
 * often done tasks older than `history.max_age` are deleted. Not config keys.
 */
export const TASKS = {
  max_wait: '60s',
  worker_wait: '25s',
  max_payload: 1_048_576,
  env_payload: 65_536,
  max_key: 200,
  extend_every: 1 / 3,
  prune_every: '1h',
} as const;

/**
 * Coordination between jobs (docs/coordination.md). State: a value is at most `max_value_size` of JSON and a key at
 * most `max_key_length` characters; each key keeps its newest `log_keep` audit entries, each holding the value up to
 * `log_value_max` (a bigger one is logged by its size only), so the log of a busy key stays bounded. Locks: `ttl` and
 * `wait` are what `lock()` and `nightshift lock` use when not told (DESIGN.md's example); `min_ttl` is the floor; a
 * waiting acquire looks again every `poll_every`; one HTTP request waits at most `max_request_wait` (the SDK and the
 * CLI ask again for longer waits); `nightshift lock` renews `renewals_per_ttl` times per ttl. Not config keys.
 */
export const COORDINATION = {
  state: { max_value_size: '1M', max_key_length: 200, log_keep: 100, log_value_max: '64K' },
  lock: { ttl: '30s', wait: '0s', min_ttl: '1s', poll_every: '200ms', max_request_wait: '55s', renewals_per_ttl: 3 },
} as const;

/**
 * The PostgreSQL store's connection pool, one per process (daemon, CLI command, `exec` wrapper), so per node
 * (docs/scale-out.md). A small managed PostgreSQL allows 25–100 connections in all, and the store's transactions are a
 * few milliseconds long: `max_connections` 5 leaves room for several nodes and the CLI. `idle_timeout` closes a
 * connection unused this long (a quiet node holds none). `connect_timeout`: a database that does not answer the
 * connection this soon is reported unreachable instead of hanging a start. `statement_timeout`: the server cancels
 * any one statement running longer, and `idle_in_transaction_timeout` ends a session left in an open transaction, so
 * a stuck node cannot hold row locks the others wait on. Not config keys yet.
 */
export const POSTGRES_POOL = {
  max_connections: 5,
  idle_timeout: '30s',
  connect_timeout: '10s',
  statement_timeout: '30s',
  idle_in_transaction_timeout: '60s',
} as const;

/**
 * `nightshift migrate-store` (docs/scale-out.md "Moving from SQLite"): rows per INSERT. 1,000 rows of the widest table
 * (runs, 20 columns) is 20,000 parameters, well inside PostgreSQL's 65,535, and copies 100,000 runs in seconds.
 */
export const MIGRATE_STORE = { batch_rows: 1000 } as const;

/**
 * The daemon's store health (docs/scale-out.md "When the database goes away"): while store calls fail, a cheap probe
 * looks again after `probe_initial`, doubling to `probe_max`, and stops as soon as one succeeds (nothing polls a healthy
 * store). A run's end that could not be written is retried on the same backoff until it is.
 */
export const STORE_HEALTH = { probe_initial: '500ms', probe_max: '10s' } as const;

/**
 * The web dashboard (docs/dashboard.md). `findings_every`: host findings (`doctor`) are looked at no more often than
 * this, never on a page view. `sse_heartbeat`: a comment line on idle event streams, below the 30–60 s idle timeouts
 * of common proxies. `history_page`: runs per page of a job's history. `strip_runs`: runs in an overview row's strip.
 * `session`: how long a login cookie lasts. Not config keys.
 */
export const DASHBOARD = {
  findings_every: '5m',
  sse_heartbeat: '25s',
  history_page: 50,
  strip_runs: 12,
  session: '7d',
  /** Wrong tokens allowed at /login within login_window before it answers 429 (src/dashboard/login-limit.ts). */
  login_failures: 10,
  login_window: '1m',
} as const;

/**
 * What `nightshift install systemd` writes into the unit (docs/install.md). `watchdog_sec`: systemd restarts a daemon
 * that has not said WATCHDOG=1 for this long; it pings every half of it while its loops are healthy, and the
 * scheduler loop counts as stuck after about 65 s, so 2m lets a stuck scheduler (not only a blocked event loop)
 * trip it. `daemon_heap_max`: node's --max-old-space-size for the daemon process alone (a leak in the daemon ends it
 * and systemd restarts it; runs are not counted). `daemon_memory`: what the daemon process needs beyond its heap
 * included; `MemoryMax=` is this plus every job's `memory:`, because the unit's cgroup holds the runs too, or
 * `memory_max_unbounded` of the host's RAM when some job has no `memory:` (the box stays reachable over ssh).
 * `stop_margin`: TimeoutStopSec is shutdown_grace + the largest kill_grace + this. Not config keys.
 */
export const SYSTEMD_UNIT = {
  watchdog_sec: '2m',
  daemon_heap_max: '256M',
  daemon_memory: '512M',
  memory_max_unbounded: '90%',
  stop_margin: '30s',
} as const;

/**
 * What `nightshift install logrotate` writes for the log files nightshift does not rotate itself (docs/install.md):
 * rotated daily or past `max_size`, `keep` old copies, compressed. Not config keys.
 */
export const LOGROTATE_RULE = { max_size: '100M', keep: 7 } as const;

/**
 * Thresholds of `nightshift doctor` (docs/doctor.md). Not config keys; `--min-available-memory` overrides
 * `memory_low_percent` for one call (the deploy gate).
 * - swap: `swap.small` when swap is below `swap_small_ratio` of RAM, capped at `swap_enough` (2G of swap is plenty
 *   for a box of any size that is not meant to swap); the fix suggests RAM-sized swap, at most `swap_suggest_max`.
 * - `load_per_cpu`: `cpu.overloaded` when the 5- or 15-minute load average is above this many runnable tasks per CPU
 *   (the 1-minute one is left out: a deploy or this very command spikes it).
 * - `memory_low_percent`: `memory.low` when MemAvailable is below this share of RAM.
 * - disk: `disk.low` / `disk.inodes` below `disk_warn_percent` free, critical below `disk_critical_percent`.
 * - `large_log`: one log file this big is `logs.large`; `journal_max`: a journal this big is `journal.large`.
 * - `crash_loop_restarts`: a systemd unit restarted more than this often is `systemd.crash_loop`.
 * - `command_timeout`: each host command (systemctl, ufw, docker, journalctl…) may take this long, then it is unknown.
 * - `service_path`: the PATH a job inherits from a daemon run by systemd, when neither its env nor env_file set one.
 * - `log_scan_max_entries`: directory entries looked at per scan root when looking for log files (bounded cost).
 */
export const DOCTOR = {
  swap_small_ratio: 0.5,
  swap_enough: '2G',
  swap_suggest_max: '4G',
  load_per_cpu: 1.5,
  memory_low_percent: 10,
  disk_warn_percent: 10,
  disk_critical_percent: 5,
  large_log: '500M',
  journal_max: '1G',
  crash_loop_restarts: 100,
  command_timeout: '5s',
  service_path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  log_scan_max_entries: 20000,
} as const;
