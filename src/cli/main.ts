#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors.ts';
import { registerValidate } from './commands/validate.ts';
import { registerUp } from './commands/up.ts';
import { registerStatus } from './commands/status.ts';
import { registerRun } from './commands/run.ts';
import { registerHistory } from './commands/history.ts';
import { registerPauseResume } from './commands/pause.ts';
import { registerLogs } from './commands/logs.ts';
import { registerExec } from './commands/exec.ts';
import { registerInit } from './commands/init.ts';

/** Builds the command tree. Commands are thin: they parse flags and call the daemon's API or the store. */
export function buildProgram(): Command {
  const program = new Command('nightshift')
    .description('keeps scheduled and long-running jobs alive on one small server')
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'the config file (default: $NIGHTSHIFT_CONFIG or ./nightshift.yaml)')
    .showHelpAfterError('(nightshift --help lists the commands)')
    .exitOverride();
  for (const register of [
    registerInit,
    registerValidate,
    registerUp,
    registerStatus,
    registerRun,
    registerLogs,
    registerHistory,
    registerPauseResume,
    registerExec,
  ]) {
    register(program);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
