import type { Command } from 'commander';
import { connect } from '../backend.ts';
import { loadCliConfig, requireRecordedJob } from '../context.ts';
import { printJson, runOutcome, table } from '../format.ts';
import { parseLimit } from '../options.ts';
import { humanDuration } from '../../util/time.ts';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .argument('<job>', 'the job name')
    .description('the runs of a job, newest first (the last 100 unless --limit)')
    .option('--json', 'print the runs as JSON')
    .option('--limit <n>', 'how many runs to show (1-10000)', '100')
    .action(async (name: string, options: { json?: boolean; limit: string }, command: Command) => {
      const config = await loadCliConfig(command);
      const limit = parseLimit(options.limit);
      const backend = await connect(config);
      try {
        const runs = await backend.history(name, limit);
        await requireRecordedJob(config, name, async () => runs.length > 0);
        if (options.json) return printJson(runs);
        if (runs.length === 0) return void process.stdout.write(`no runs of ${name} yet\n`);
        const rows = [['RUN', 'ATTEMPT', 'TRIGGER', 'SCHEDULED', 'STARTED', 'RESULT', 'DURATION']];
        for (const run of runs) {
          rows.push([
            run.id,
            String(run.attempt),
            run.trigger,
            run.scheduled_at,
            run.started_at ?? '-',
            runOutcome(run),
            run.duration_ms != null ? humanDuration(run.duration_ms) : '-',
          ]);
        }
        process.stdout.write(`${table(rows)}\n`);
      } finally {
        await backend.close();
      }
    });
}
