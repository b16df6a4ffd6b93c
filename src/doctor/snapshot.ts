/**
 * Collects the host snapshot once: every file, /proc entry and command doctor needs, in parallel where they are
 * independent. The checks then read only the snapshot (checks/), so a fixture tree under `--root DIR` exercises the
 * same code as the live host.
 */
import { parsePasswd } from '../runner/users.ts';
import { DOCTOR } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { compileJob } from '../watch/duplicate-match.ts';
import { fixtureCommands, liveCommands, type CommandSource } from './commands.ts';
import { collectCron } from './collect/cron.ts';
import { HostFs } from './collect/host-fs.ts';
import { collectJob } from './collect/jobs.ts';
import { collectLogrotate } from './collect/logrotate.ts';
import { collectLogs } from './collect/logs.ts';
import { collectDocker, collectFirewall } from './collect/network.ts';
import { collectCpuCount, collectLoad, collectMemory, collectOomKillsSinceBoot, collectProcesses } from './collect/proc.ts';
import { collectProjects } from './collect/projects.ts';
import { parseFailedUnits, parseSystemctlShow } from './parse/systemd.ts';
import { parseDf } from './parse/df.ts';
import { oomLines, parseJournalDiskUsage, parseTimedatectl } from './parse/host-tools.ts';
import type { HostSnapshot, OomFacts } from './types.ts';

export interface SnapshotOptions {
  /** Read the host under this directory, and commands from DIR/.commands/; default `/` and live commands. */
  root?: string;
  config?: ResolvedConfig | null;
  now?: Date;
  /** Overrides where command output comes from (tests). */
  commands?: CommandSource;
}

export async function collectSnapshot(options: SnapshotOptions = {}): Promise<HostSnapshot> {
  const root = options.root ?? '/';
  const live = root === '/';
  const fs = new HostFs(root);
  const commands = options.commands ?? (live ? liveCommands(parseDuration(DOCTOR.command_timeout)) : fixtureCommands(root));
  const config = options.config ?? null;
  const jobs = config ? Object.values(config.jobs) : [];
  const jobDirs = config ? [config.configDir, ...jobs.map((job) => job.cwd)] : [];
  const shellPath = live ? (process.env['PATH'] ?? null) : null;

  const [cpuCount, load, memory, killsSinceBoot, processes, df, logScan, logrotate, cron, services, failed, journalUsage, kernelLog, time, projects, passwd] =
    await Promise.all([
      collectCpuCount(fs),
      collectLoad(fs),
      collectMemory(fs),
      collectOomKillsSinceBoot(fs),
      collectProcesses(fs),
      commands('df'),
      collectLogs(fs, jobDirs.filter((dir) => dir !== '/'), DOCTOR.log_scan_max_entries),
      collectLogrotate(fs, commands),
      collectCron(fs, commands),
      commands('systemdServices'),
      commands('failedUnits'),
      commands('journalDiskUsage'),
      commands('kernelLog'),
      commands('timedatectl'),
      collectProjects(fs, { dirs: jobDirs, envFiles: jobs.flatMap((job) => (job.envFile ? [job.envFile] : [])) }),
      fs.text('/etc/passwd'),
    ]);
  const [firewall, docker, jobFacts, duplicateJobs, stateDir] = await Promise.all([
    collectFirewall(fs, commands),
    collectDocker(fs, commands, processes),
    Promise.all(jobs.map((job) => collectJob(fs, job, DOCTOR.service_path, shellPath))),
    Promise.all(jobs.map((job) => compileJob(job, root))),
    config ? fs.mode(config.stateDir) : null,
  ]);

  const kernelOom = kernelLog === null ? null : oomLines(kernelLog);
  const kernFile = kernelOom === null ? await fs.text('/var/log/kern.log') : null;
  const lines = kernelOom ?? (kernFile === null ? null : oomLines(kernFile));
  const oom: OomFacts | null = killsSinceBoot === null && lines === null ? null : { killsSinceBoot, lines: (lines ?? []).slice(-5) };

  const users = new Map<number, string>();
  for (const entry of passwd === null ? [] : parsePasswd(passwd)) if (!users.has(entry.uid)) users.set(entry.uid, entry.name);

  return {
    root,
    now: options.now ?? new Date(),
    cpuCount,
    load,
    memory,
    mounts: df === null ? null : parseDf(df),
    logFiles: logScan.logFiles,
    appLogs: logScan.appLogs.filter((log) => !config || !log.path.startsWith(`${config.stateDir}/`)),
    journalBytes: journalUsage === null ? null : parseJournalDiskUsage(journalUsage),
    logrotate,
    cron,
    systemdUnits: services === null ? null : parseSystemctlShow(services),
    failedUnits: failed === null ? null : parseFailedUnits(failed),
    firewall,
    docker,
    time: time === null ? null : parseTimedatectl(time),
    oom,
    processes,
    projectDirs: projects.projectDirs,
    envFiles: projects.envFiles,
    stateDir,
    jobs: jobFacts,
    duplicateJobs,
    daemonUid: stateDir?.uid ?? (live && process.getuid ? process.getuid() : null),
    users,
  };
}
