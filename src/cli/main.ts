#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors.ts';
import { registerHeartbeat } from './commands/heartbeat.ts';
import { registerOutput, registerRetryAfter } from './commands/output.ts';

type Register = (program: Command) => void;

/**
 * Commands that run inside jobs every few seconds get a program holding only themselves: the other commands import
 * the config (zod, yaml) and the store, which take several times longer to load than these take to run.
 */
const LIGHT_COMMANDS: Record<string, Register> = { heartbeat: registerHeartbeat, output: registerOutput, 'retry-after': registerRetryAfter };

/**
 * Every other command, loaded only when it is the one asked for: `status` must not pay for `exec`'s or `logs`'
 * modules (a CLI call on a 1-CPU box is mostly module loading). Help and unknown commands load them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.ts')).registerInit,
  validate: async () => (await import('./commands/validate.ts')).registerValidate,
  up: async () => (await import('./commands/up.ts')).registerUp,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  run: async () => (await import('./commands/run.ts')).registerRun,
  logs: async () => (await import('./commands/logs.ts')).registerLogs,
  history: async () => (await import('./commands/history.ts')).registerHistory,
  pause: async () => (await import('./commands/pause.ts')).registerPauseResume,
  resume: async () => (await import('./commands/pause.ts')).registerPauseResume,
  exec: async () => (await import('./commands/exec.ts')).registerExec,
  incidents: async () => (await import('./commands/incidents.ts')).registerIncidents,
  ping: async () => (await import('./commands/ping.ts')).registerPing,
  pings: async () => (await import('./commands/ping.ts')).registerPing,
  task: async () => (await import('./commands/task.ts')).registerTask,
  state: async () => (await import('./commands/state.ts')).registerState,
  lock: async () => (await import('./commands/lock.ts')).registerLock,
  upstream: async () => (await import('./commands/upstream.ts')).registerUpstream,
  doctor: async () => (await import('./commands/doctor.ts')).registerDoctor,
  install: async () => (await import('./commands/install.ts')).registerInstall,
  'migrate-store': async () => (await import('./commands/migrate-store.ts')).registerMigrateStore,
};

async function everyCommand(): Promise<Register[]> {
  const loaded = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  return [...new Set([...loaded, ...Object.values(LIGHT_COMMANDS)])];
}

/** The command named in `args` (argv without node and the script), skipping `-c FILE`; undefined for none. */
function commandName(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Builds the command tree for `argv`: every command, or only the light one it names. Commands are thin: they parse
 * flags and call the daemon's API or the store.
 */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('nightshift')
    .description('keeps scheduled and long-running jobs alive on one small server')
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'the config file (default: $NIGHTSHIFT_CONFIG or ./nightshift.yaml)')
    .showHelpAfterError('(nightshift --help lists the commands)')
    .exitOverride();
  const name = commandName(argv.slice(2)) ?? '';
  const one = LIGHT_COMMANDS[name] ?? (Object.hasOwn(COMMANDS, name) ? await COMMANDS[name]!() : undefined);
  for (const register of one ? [one] : await everyCommand()) register(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; every other commander complaint is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE;
    }
    if (error instanceof CliError) {
      process.stderr.write(error.raw ? `${error.message}\n` : `nightshift: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`nightshift: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILED;
  }
}

const code = await main(process.argv);
// Let stdout drain (a piped `status --json` must not be cut), then exit: a command must not hang on a stray handle.
process.stdout.write('', () => process.exit(code));
