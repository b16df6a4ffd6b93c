/**
 * The shapes of `nightshift doctor`: the findings it reports (DESIGN.md, `doctor --json`) and the host snapshot the
 * checks read. The snapshot is collected once (snapshot.ts); every check is a pure function of it, so a fixture
 * host under `--root DIR` exercises exactly the code a real host does.
 *
 * A fact that could not be learned (no systemd, no permission, a command that timed out) is `null`: unknown, never
 * a finding.
 */
import type { CompiledJob } from '../watch/duplicate-match.ts';

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  /** Stable dotted id (`swap.none`, `disk.low`…), listed in docs/doctor.md; `doctor.ignore` silences by it. */
  id: string;
  severity: Severity;
  /** One line: what is wrong. */
  title: string;
  /** What was seen: numbers, paths, lines. */
  detail: string;
  /** The exact commands to run or config to add. */
  fix: string;
}

export interface DoctorReport {
  /** No finding at critical severity (the CLI's `--fail-on` decides its own exit code). */
  ok: boolean;
  findings: Finding[];
}

export interface MemInfo {
  memTotalBytes: number;
  memAvailableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

export interface LoadAverage {
  one: number;
  five: number;
  fifteen: number;
}

export interface MountUsage {
  mountPoint: string;
  fsType: string;
  sizeBytes: number;
  availBytes: number;
  /** 0 when the filesystem has no fixed inode table (btrfs). */
  inodes: number;
  inodesFree: number;
}

export interface FileFact {
  /** As on the host (without the --root prefix). */
  path: string;
  sizeBytes: number;
}

export interface PathMode {
  /** As on the host. */
  path: string;
  /** Permission bits, e.g. 0o755. */
  mode: number;
  uid: number;
  /** Every directory above it lets group or others through (x bit): only then do its own bits expose it. */
  reachable: boolean;
}

export interface LogrotateFacts {
  /** logrotate's config exists (/etc/logrotate.conf or /etc/logrotate.d). */
  installed: boolean;
  /** The path patterns of every rule, as written (globs). */
  patterns: string[];
  /** null: unknown (neither a systemd answer nor a cron file to go by). */
  scheduled: boolean | null;
}

export interface CronLine {
  /** The crontab file, or `crontab -l` for the invoking user's when the spool is unreadable. */
  file: string;
  line: number;
  /** The whole line as written. */
  text: string;
  /** The schedule and, in system crontabs, the user, as written (with the whitespace after them). */
  prefix: string;
  /** The command part (after the schedule and, in system crontabs, the user). */
  command: string;
  /** Who it runs as; null for a user crontab read through `crontab -l` when the user is unknown. */
  user: string | null;
}

export interface SystemdUnit {
  id: string;
  activeState: string;
  subState: string;
  restarts: number | null;
}

export interface FirewallFacts {
  /** /etc/ufw/ufw.conf ENABLED=yes (or `ufw status` says active). */
  ufwEnabled: boolean;
  /** DEFAULT_INPUT_POLICY of /etc/default/ufw, upper case ("DROP", "REJECT", "ACCEPT"); null when unknown. */
  inputPolicy: string | null;
}

export interface DockerFacts {
  /** dockerd runs (a process, or `docker ps` answered). */
  running: boolean;
  /** `docker ps` lines: name and published ports, for the finding's detail. */
  containers: { name: string; ports: string }[];
  /**
   * Container logging from /etc/docker/daemon.json: the driver (`json-file` when unset) and its `max-size` option;
   * null when the file cannot be parsed.
   */
  logging: { driver: string; maxSize: string | null } | null;
}

export interface TimeFacts {
  /** `timedatectl show`: NTPSynchronized. */
  synchronized: boolean;
  /** `timedatectl show`: NTP (a time service is enabled); null when not said. */
  ntpEnabled: boolean | null;
}

export interface OomFacts {
  /** oom_kill of /proc/vmstat: kills since boot; null on kernels before 4.13. */
  killsSinceBoot: number | null;
  /** Kernel log lines naming a killed process (journal or kern.log), oldest first, at most a few. */
  lines: string[];
}

export interface HostProcess {
  pid: number;
  ppid: number;
  uid: number | null;
  argv: string[];
  /** Real path of its working directory; null when unreadable. */
  cwd: string | null;
  /** Carries NIGHTSHIFT_RUN_ID (a nightshift run); null when its environment cannot be read. */
  marked: boolean | null;
  /** The systemd unit its cgroup names (`rivet-worker.service`), or null. */
  unit: string | null;
}

export interface JobFacts {
  name: string;
  /** The configured user, or null (runs as the daemon's user). */
  user: string | null;
  command: string;
  /** The PATH the job gets and where it came from. */
  path: { value: string; from: 'env' | 'env_file' | 'service' };
  /** Programs the command needs (argv[0], a `#!` interpreter) that are not found; empty when all resolve. */
  unresolved: { program: string; foundElsewhere: string[]; onShellPath: string | null }[];
  cwd: PathMode | null;
  envFile: PathMode | null;
}

export interface HostSnapshot {
  /** The --root the facts were read under ("/" for the live host). */
  root: string;
  now: Date;
  cpuCount: number | null;
  load: LoadAverage | null;
  memory: MemInfo | null;
  mounts: MountUsage[] | null;
  /** Files looked at as logs, with their sizes (only those above a few MB are kept). */
  logFiles: FileFact[];
  /** Application log files (outside /var/log), for the logrotate check. */
  appLogs: FileFact[];
  journalBytes: number | null;
  logrotate: LogrotateFacts;
  cron: CronLine[] | null;
  systemdUnits: SystemdUnit[] | null;
  failedUnits: string[] | null;
  firewall: FirewallFacts | null;
  docker: DockerFacts | null;
  time: TimeFacts | null;
  oom: OomFacts | null;
  processes: HostProcess[] | null;
  /** Directories found holding a `.env` (project directories), and those env files. */
  projectDirs: PathMode[];
  envFiles: PathMode[];
  /** With a config: its state directory. */
  stateDir: PathMode | null;
  /** With a config: facts per job. */
  jobs: JobFacts[];
  /** With a config: jobs prepared for duplicate matching (src/watch/duplicate-match.ts). */
  duplicateJobs: CompiledJob[];
  /** The uid the daemon runs as, as far as known: the state directory's owner, else whoever runs doctor. */
  daemonUid: number | null;
  /** Names by uid, from etc/passwd. */
  users: Map<number, string>;
}

export interface CheckContext {
  /** `--min-available-memory`: replaces the percent floor of memory.low. */
  minAvailableMemoryBytes: number | null;
}

/** A check: pure over the snapshot. */
export type Check = (snapshot: HostSnapshot, context: CheckContext) => Finding[];
