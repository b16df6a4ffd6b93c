/**
 * The host commands doctor asks (systemctl, ufw, docker, crontab, journalctl, timedatectl, df) and where their
 * answers come from: the live command, or under `--root DIR` the fixture file `DIR/.commands/<fixture>` holding what
 * that command printed (docs/doctor.md lists them; a real host is captured by running each argv below).
 *
 * A command that is missing (ENOENT), times out, or fails without printing anything is an unknown fact, not a
 * finding: a box without Docker has no Docker problem. Commands run through execFile, never a shell, with the C
 * locale so their output parses the same everywhere.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HostCommand {
  argv: readonly [string, ...string[]];
  /** File under DIR/.commands/ standing in for the output under --root DIR. */
  fixture: string;
}

export const HOST_COMMANDS = {
  systemdServices: {
    argv: ['systemctl', 'show', '--no-pager', '--property=Id,ActiveState,SubState,NRestarts', '*.service'],
    fixture: 'systemctl-show-services.txt',
  },
  failedUnits: { argv: ['systemctl', 'list-units', '--failed', '--all', '--plain', '--no-legend', '--no-pager'], fixture: 'systemctl-list-units-failed.txt' },
  logrotateTimer: { argv: ['systemctl', 'is-active', 'logrotate.timer'], fixture: 'systemctl-is-active-logrotate-timer.txt' },
  ufwStatus: { argv: ['ufw', 'status', 'verbose'], fixture: 'ufw-status-verbose.txt' },
  dockerPs: { argv: ['docker', 'ps', '--format', '{{.Names}}\t{{.Ports}}'], fixture: 'docker-ps.txt' },
  crontab: { argv: ['crontab', '-l'], fixture: 'crontab-l.txt' },
  journalDiskUsage: { argv: ['journalctl', '--disk-usage', '--no-pager'], fixture: 'journalctl-disk-usage.txt' },
  kernelLog: { argv: ['journalctl', '-k', '--since=-7d', '-n', '5000', '--no-pager', '-o', 'short-iso'], fixture: 'journalctl-kernel.txt' },
  timedatectl: { argv: ['timedatectl', 'show'], fixture: 'timedatectl-show.txt' },
  df: { argv: ['df', '-l', '-B1', '--output=target,fstype,size,avail,itotal,iavail'], fixture: 'df.txt' },
} as const satisfies Record<string, HostCommand>;

export type HostCommandName = keyof typeof HOST_COMMANDS;

/** What a command printed, or null when unknown. */
export type CommandSource = (name: HostCommandName) => Promise<string | null>;

/** The directory under --root DIR holding the command fixtures. */
export const COMMANDS_DIR = '.commands';

/** Runs the live commands, each bounded by `timeoutMs`. `table` replaces the argv of each (tests). */
export function liveCommands(timeoutMs: number, table: Record<HostCommandName, HostCommand> = HOST_COMMANDS): CommandSource {
  return (name) => {
    const [file, ...args] = table[name].argv;
    return new Promise((resolve) => {
      execFile(
        file,
        args,
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C', SYSTEMD_COLORS: '0' }, windowsHide: true },
        (error, stdout) => {
          // Some commands answer through their exit code as well as their output (`systemctl is-active` exits 3 for
          // "inactive"): output is the answer when there is any; no output and an error is unknown.
          if (error && (stdout === '' || (error as NodeJS.ErrnoException).code === 'ENOENT' || error.killed)) return resolve(null);
          resolve(stdout);
        },
      );
    });
  };
}

/** Reads DIR/.commands/<fixture>; a missing file is an unknown fact, as a missing command is. */
export function fixtureCommands(root: string): CommandSource {
  return async (name) => {
    try {
      return await readFile(join(root, COMMANDS_DIR, HOST_COMMANDS[name].fixture), 'utf8');
    } catch {
      return null;
    }
  };
}
