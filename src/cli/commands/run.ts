import type { Command } from 'commander';
import { connect } from '../backend.ts';
import { loadCliConfig, requireJob } from '../context.ts';
import { CliError, EXIT_FAILED } from '../errors.ts';
import { printJson, runOutcome } from '../format.ts';

/** `run --wait` gives up waiting (not the run) after this long. */
const WAIT_LIMIT_MS = 24 * 60 * 60 * 1000;

export function registerRun(program: Command): void {
  program
    .command('run')
    .argument('<job>', 'the job name')
    .description('start a job now through the daemon (exit 1 when the start was skipped, or with --wait when the run does not succeed)')
    .option('--wait', 'wait for the run to end and exit with 0 only if it succeeded')
    .option('--json', 'print the run as JSON')
    .action(async (name: string, options: { wait?: boolean; json?: boolean }, command: Command) => {
      const config = await loadCliConfig(command);
      requireJob(config, name);
      const backend = await connect(config);
      try {
        let run = await backend.trigger(name);
        if (!options.json) process.stdout.write(`${name}: run ${run.id} ${runOutcome(run)}\n`);
        if (run.status === 'skipped') {
          if (options.json) printJson(run);
          throw new CliError(`${name} was not started (${run.reason ?? 'skipped'}); see nightshift status`, EXIT_FAILED);
        }
        if (!options.wait) return options.json ? printJson(run) : undefined;
        run = await backend.waitForRun(run.id, WAIT_LIMIT_MS);
        if (options.json) printJson(run);
        else process.stdout.write(`${name}: run ${run.id} ${runOutcome(run)}\n`);
        if (run.status !== 'succeeded') throw new CliError(`${name} did not succeed (see nightshift logs ${name} --run ${run.id})`, EXIT_FAILED);
      } finally {
        await backend.close();
      }
    });
}
