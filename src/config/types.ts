/**
 * The resolved configuration: what every part of nightshift outside `src/config/` reads.
 *
 * The user writes `nightshift.yaml` with every key optional and with units (`30s`, `50M`); `resolveConfig()` in
 * `resolve.ts` applies every default (from `defaults.ts`, the only place defaults live) and produces this shape, in
 * which every field is present, every duration is in milliseconds (`…Ms`) and every size in bytes (`…Bytes`).
 */

export type OverlapPolicy = 'skip' | 'queue' | 'replace';
export type CatchUpPolicy = 'none' | 'latest';
export type RestartPolicy = 'always' | 'on-failure';
export type JobKind = 'scheduled' | 'service' | 'triggered';

/** `N per window`, e.g. `10/1h` → `{ count: 10, perMs: 3_600_000 }`. */
export interface Rate {
  count: number;
  perMs: number;
}

/** A string command runs under `/bin/sh -c`; a list runs without a shell. */
export type CommandSpec =
  | { kind: 'shell'; script: string }
  | { kind: 'argv'; argv: [string, ...string[]] };

export interface RetryPolicy {
  /** Retries after the first attempt (`retries: 3` → 4 attempts), as Kubernetes' backoffLimit. */
  max: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** Failed attempts of the job allowed per rolling window, first attempts included; null = unbounded. */
  budget: Rate | null;
}

export interface HeartbeatPolicy {
  warnMs: number;
  restartMs: number;
  alertMs: number;
}

export interface JobLogsConfig {
  maxSizeBytes: number;
  keep: number;
  compress: boolean;
}

export interface BreakerConfig {
  outputs: number;
  perMs: number;
  /** Jobs sharing a group share one breaker; null = the job's own. */
  group: string | null;
  /** Kill the running runs behind it when it opens. */
  stopRunning: boolean;
}

export interface SpendBudget {
  spend: number;
  perMs: number;
}

export interface AfterConfig {
  job: string;
  maxAgeMs: number;
  onStale: 'degrade' | 'skip';
}

export interface JobConfig {
  name: string;
  kind: JobKind;
  command: CommandSpec;
  /** Absolute. Defaults to the config file's directory. */
  cwd: string;
  env: Record<string, string>;
  /** Absolute path, or null. */
  envFile: string | null;
  user: string | null;
  schedule: string | null;
  /** IANA zone, or null for the host's local zone. */
  timezone: string | null;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  /** Hard deadline; null = none. */
  timeoutMs: number | null;
  killGraceMs: number;
  /** A warning threshold (long_run), not a kill; null = none. */
  maxRuntimeMs: number | null;
  retries: RetryPolicy;
  heartbeat: HeartbeatPolicy | null;
  graceMs: number;
  memoryBytes: number | null;
  cpuPercent: number | null;
  logs: JobLogsConfig;
  breaker: BreakerConfig | null;
  budget: SpendBudget | null;
  queue: string | null;
  after: AfterConfig | null;
  node: string | null;
  /** Set for service jobs only. */
  restart: RestartPolicy | null;
  minUptimeMs: number;
  crashLoop: { failures: number };
  /** Service restart backoff: `initialMs` doubling per consecutive quick exit, up to `maxMs`. */
  restartBackoff: { initialMs: number; maxMs: number };
}

export type ChannelConfig =
  /** `secret` set: the body is signed (X-Nightshift-Signature: sha256=<hex HMAC-SHA256 of the body>). */
  | { type: 'webhook'; url: string; headers: Record<string, string>; secret: string | null }
  | { type: 'slack'; url: string }
  | { type: 'discord'; url: string }
  | { type: 'telegram'; botToken: string; chatId: string; apiUrl: string }
  | { type: 'ntfy'; url: string; token: string | null }
  | { type: 'pagerduty'; routingKey: string; url: string }
  | {
      type: 'email';
      to: string[];
      from: string;
      smtp: { host: string; port: number; secure: boolean; user: string | null; pass: string | null };
    }
  | { type: 'exec'; command: CommandSpec };

export interface CheckConfig {
  name: string;
  schedule: string | null;
  timezone: string | null;
  /** Set when the check uses `every:` instead of a schedule. */
  everyMs: number | null;
  graceMs: number;
  /** Fixed in the config so an existing ping URL keeps working; null = generated once and kept in the store. */
  uuid: string | null;
}

export interface QueueConfig {
  name: string;
  concurrency: number;
  rate: Rate | null;
  /** A job's shape; `budget` counts charged failed attempts of the queue's tasks and, when spent, holds its retries. */
  retries: RetryPolicy;
  leaseMs: number;
}

export type FreeDiskFloor = { kind: 'percent'; percent: number } | { kind: 'bytes'; bytes: number };

export type StoreConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ResolvedConfig {
  /** Absolute path of the file this came from. */
  configPath: string;
  configDir: string;
  project: string;
  /** Absolute. Holds state.db, logs/, the API token. */
  stateDir: string;
  store: StoreConfig;
  node: string;
  cluster: { heartbeatMs: number; deadAfterMs: number };
  http: {
    host: string;
    port: number;
    /** null = the daemon generates one into `<state_dir>/api-token` (mode 0600) on first start. */
    token: string | null;
    pingKey: string | null;
    pingBodyLimitBytes: number;
  };
  selfPing: string | null;
  limits: {
    /** 0 = no limit. */
    maxConcurrentRuns: number;
    minAvailableMemoryBytes: number;
  };
  logs: { maxTotalBytes: number; minFreeDisk: FreeDiskFloor };
  history: { keepRunsPerJob: number; maxAgeMs: number };
  shutdownGraceMs: number;
  doctor: { ignore: string[] };
  channels: Record<string, ChannelConfig>;
  alerts: {
    channels: string[];
    renotifyMs: number | null;
    /** A recovery is held back this long; a relapse within it keeps the same incident open, untold. */
    flapWindowMs: number;
    /** A scheduled run starting later than this after its fire is a late_start incident. */
    lateStartMs: number;
  };
  queues: Record<string, QueueConfig>;
  /** In the order the file declares them. */
  jobs: Record<string, JobConfig>;
  checks: Record<string, CheckConfig>;
}
