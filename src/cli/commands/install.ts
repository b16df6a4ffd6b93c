/**
 * `nightshift install systemd|logrotate`: writes a systemd unit or a logrotate rule for this config (or prints it with
 * `--print`) and says what to run next. It never runs systemctl itself: enabling a service is the user's decision.
 * The generators are pure functions in src/install/; docs/install.md explains what they write and why.
 */
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigErrors } from '../../config/index.ts';
import { loadUnixDgram } from '../../daemon/notify-socket.ts';
import { loadInstallConfig, type InstallConfig } from '../../install/install-config.ts';
import { renderLogrotateRule } from '../../install/logrotate-rule.ts';
import { renderSystemdUnit } from '../../install/systemd-unit.ts';
import { unitNameFor } from '../../install/unit-syntax.ts';
import { ExistingFileError, writeGenerated, type WriteOutcome } from '../../install/write-file.ts';
import { VERSION } from '../../version.ts';
import { configFlag } from '../context.ts';
import { CliError, EXIT_FAILED, configError, usageError } from '../errors.ts';

const SYSTEMD_DIR = '/etc/systemd/system';
const LOGROTATE_DIR = '/etc/logrotate.d';
/** This file is dist/cli/commands/install.js; the CLI the unit starts is dist/cli/main.js. */
const CLI_PATH = fileURLToPath(new URL('../main.js', import.meta.url));
/** A POSIX user name, or a numeric uid (what systemd's User= takes). */
const USER_NAME = /^(?:[a-z_][a-z0-9_-]*\$?|\d+)$/i;

interface CommonOptions {
  print?: boolean;
  output?: string;
  force?: boolean;
}

export function registerInstall(program: Command): void {
  const install = program
    .command('install')
    .description('write a systemd unit or a logrotate rule for this config (--print shows it and writes nothing)')
    .argument('[target]', 'systemd or logrotate')
    .action((target: string | undefined) => {
      throw usageError(`${target === undefined ? 'name what to install' : `unknown install target '${target}'`}: nightshift install systemd|logrotate`);
    });

  withCommon(install.command('systemd'), `${SYSTEMD_DIR}/nightshift-<project>.service`)
    .description('write a systemd unit (Type=notify, watchdog, restart, memory cap, sandbox) that runs `nightshift up`')
    .option('--user <name>', 'run the daemon as this user (default root; jobs with user: need root)')
    .action(async (options: CommonOptions & { user?: string }, command: Command) => {
      if (options.user !== undefined && !USER_NAME.test(options.user)) {
        throw usageError(`--user '${options.user}' is not a user name; give an existing user such as --user nightshift`);
      }
      const loaded = load(command);
      const { config } = loaded;
      const jobs = Object.values(config.jobs);
      const rootJobs = jobs.filter((job) => job.user !== null).map((job) => job.name);
      const notifyAccess = loadUnixDgram() ? 'main' : 'all';
      const unit = renderSystemdUnit({
        project: config.project,
        configPath: config.configPath,
        configDir: config.configDir,
        stateDir: config.stateDir,
        nodePath: process.execPath,
        cliPath: CLI_PATH,
        user: options.user ?? null,
        jobs: jobs.map((job) => ({ name: job.name, cwd: job.cwd, user: job.user, memoryBytes: job.memoryBytes, killGraceMs: job.killGraceMs })),
        shutdownGraceMs: config.shutdownGraceMs,
        variables: loaded.variables,
        envFile: `/etc/nightshift/${unitNameFor(config.project)}.env`,
        notifyAccess,
        networkStore: config.store.kind === 'postgres',
        version: VERSION,
      });
      warnUnset(loaded, `/etc/nightshift/${unitNameFor(config.project)}.env`);
      if (options.user !== undefined && rootJobs.length > 0) {
        warn(`jobs ${rootJobs.join(', ')} have user:, which needs the daemon to run as root; without --user they work, with it they fail to start`);
      }
      if (notifyAccess === 'all') {
        warn('the unix-dgram addon is not installed, so the daemon notifies systemd through systemd-notify (NotifyAccess=all); see docs/install.md');
      }
      if (options.print) return void process.stdout.write(unit.text);

      const path = outputPath(options.output, join(SYSTEMD_DIR, unit.name));
      // ProtectSystem=strict can only make an existing directory writable: the state directory must be there first.
      await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
      const outcome = await write(path, unit.text, options.force === true);
      const inSearchPath = dirname(path) === SYSTEMD_DIR;
      const next = [
        ...(options.user !== undefined ? [`chown -R ${options.user}: ${config.stateDir}`] : []),
        ...(inSearchPath ? [] : [`systemctl link ${path}`]),
        `systemctl daemon-reload && systemctl enable --now ${unit.name}`,
        `systemctl status ${unit.name}    # Active: active (running), Status: "running ${jobs.length} jobs; …"`,
      ];
      process.stdout.write(`${describe(outcome, path)}\nnext:\n${next.map((line) => `  ${line}\n`).join('')}`);
    });

  withCommon(install.command('logrotate'), `${LOGROTATE_DIR}/nightshift-<project>`)
    .description("write a logrotate rule for the log files nightshift does not rotate itself (not the jobs' logs)")
    .option('--log <file>', 'also rotate this file or glob, e.g. a crontab line redirection (repeatable)', collect, [])
    .action(async (options: CommonOptions & { log: string[] }, command: Command) => {
      const loaded = load(command);
      const { config } = loaded;
      const extra = options.log.map((file) => resolve(file));
      const logsDir = join(config.stateDir, 'logs');
      const inLogs = extra.find((file) => file === logsDir || file.startsWith(`${logsDir}/`));
      if (inLogs !== undefined) {
        throw usageError(`--log ${inLogs}: nightshift rotates the files under ${logsDir} itself; name only files it does not write`);
      }
      const text = renderLogrotateRule({ stateDir: config.stateDir, configPath: config.configPath, extra, version: VERSION });
      if (options.print) return void process.stdout.write(text);
      const path = outputPath(options.output, join(LOGROTATE_DIR, unitNameFor(config.project)));
      const outcome = await write(path, text, options.force === true);
      process.stdout.write(`${describe(outcome, path)}\nnext:\n  logrotate -d ${path}    # a dry run: shows which files it considers\n`);
    });
}

function withCommon(command: Command, defaultPath: string): Command {
  return command
    .option('--print', 'print it on stdout and write nothing')
    .option('--output <file>', `write it here instead of ${defaultPath}`)
    .option('--force', 'replace an existing file that has other content');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function load(command: Command): InstallConfig {
  try {
    return loadInstallConfig({ explicit: configFlag(command), env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigErrors) throw configError(error.message);
    throw error;
  }
}

function outputPath(output: string | undefined, fallback: string): string {
  if (output === undefined) return fallback;
  if (output === '') throw usageError('--output needs a file path, e.g. --output ./nightshift.service');
  return isAbsolute(output) ? output : resolve(output);
}

async function write(path: string, text: string, force: boolean): Promise<WriteOutcome> {
  try {
    return await writeGenerated(path, text, { force, mode: 0o644 });
  } catch (error) {
    if (error instanceof ExistingFileError) {
      throw usageError(`${path} already exists with other content; compare with --print, then add --force to replace it`);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(`cannot write ${path} (${code}); run as root, or give --output FILE, or --print`, EXIT_FAILED);
    throw error;
  }
}

function describe(outcome: WriteOutcome, path: string): string {
  return outcome === 'unchanged' ? `${path} is already up to date` : `${outcome === 'created' ? 'wrote' : 'updated'} ${path}`;
}

function warnUnset(loaded: InstallConfig, envFile: string): void {
  if (loaded.unset.length === 0) return;
  const names = loaded.unset.map((name) => `\${${name}}`).join(', ');
  warn(`the config reads ${names}, not set here; put ${loaded.unset.map((n) => `${n}=…`).join(', ')} in ${envFile} (mode 0600) before starting the unit`);
}

function warn(message: string): void {
  process.stderr.write(`nightshift: warning: ${message}\n`);
}
