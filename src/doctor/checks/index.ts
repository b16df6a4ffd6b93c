/** Every check doctor runs, in the order findings are listed (resources first, then configuration, then jobs). */
import type { Check } from '../types.ts';
import { checkCpu } from './cpu.ts';
import { checkCronLocks } from './cron-lock.ts';
import { checkDiskInodes } from './disk-inodes.ts';
import { checkDiskSpace } from './disk-space.ts';
import { checkDockerLogs } from './docker-logs.ts';
import { checkDuplicates } from './duplicates.ts';
import { checkFirewall } from './firewall.ts';
import { checkJournal } from './journal.ts';
import { checkLogrotateMissing } from './logrotate-missing.ts';
import { checkLogrotateUnscheduled } from './logrotate-unscheduled.ts';
import { checkLogsLarge } from './logs-large.ts';
import { checkMemory } from './memory.ts';
import { checkOomKills } from './oom-kills.ts';
import { checkPaths } from './path-unresolved.ts';
import { checkEnvFiles } from './perms-env-file.ts';
import { checkProjectDirs } from './perms-project-dir.ts';
import { checkStateDir } from './perms-state-dir.ts';
import { checkRootJobs } from './job-root.ts';
import { checkSwap } from './swap.ts';
import { checkSystemdCrashLoop } from './systemd-crash-loop.ts';
import { checkSystemdFailed } from './systemd-failed.ts';
import { checkTime } from './time-sync.ts';

export const CHECKS: readonly Check[] = [
  checkFirewall,
  checkDiskSpace,
  checkDiskInodes,
  checkMemory,
  checkSwap,
  checkCpu,
  checkOomKills,
  checkLogsLarge,
  checkJournal,
  checkDockerLogs,
  checkLogrotateMissing,
  checkLogrotateUnscheduled,
  checkSystemdCrashLoop,
  checkSystemdFailed,
  checkDuplicates,
  checkCronLocks,
  checkTime,
  checkProjectDirs,
  checkStateDir,
  checkEnvFiles,
  checkPaths,
  checkRootJobs,
];
