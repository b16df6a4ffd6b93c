import type { Command } from 'commander';
import { loadCliConfig } from '../context.ts';
import { describeGaps, notYetEnforced } from '../../daemon/feature-gaps.ts';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check the config file; exit 0 when valid, 2 with one line per problem when not')
    .action(async (_options: unknown, command: Command) => {
      const config = await loadCliConfig(command);
      const jobs = Object.keys(config.jobs).length;
      const checks = Object.keys(config.checks).length;
      process.stdout.write(`${config.configPath}: ok (${jobs} job${jobs === 1 ? '' : 's'}, ${checks} check${checks === 1 ? '' : 's'})\n`);
      const gaps = notYetEnforced(config);
      if (gaps.length) process.stderr.write(`nightshift: warning: ${describeGaps(gaps)}\n`);
    });
}
