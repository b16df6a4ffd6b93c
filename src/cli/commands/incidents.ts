import type { Command } from 'commander';
import pc from 'picocolors';
import { connect } from '../backend.ts';
import { loadCliConfig } from '../context.ts';
import { printJson, relativeTime, table } from '../format.ts';
import { parseLimit } from '../options.ts';

export function registerIncidents(program: Command): void {
  program
    .command('incidents')
    .description('open incidents, newest first (--all: resolved ones too); works with or without the daemon')
    .option('--all', 'every incident, resolved ones included')
    .option('--json', 'print the incidents as JSON')
    .option('--limit <n>', 'how many incidents to show (1-10000)', '100')
    .action(async (options: { all?: boolean; json?: boolean; limit: string }, command: Command) => {
      const config = await loadCliConfig(command);
      const limit = parseLimit(options.limit);
      const backend = await connect(config);
      try {
        const incidents = await backend.incidents({ all: options.all ?? false, limit });
        if (options.json) return printJson(incidents);
        if (incidents.length === 0) return void process.stdout.write(options.all ? 'no incidents recorded\n' : 'no open incidents\n');
        const rows = [['STATE', 'KIND', 'SUBJECT', 'OPENED', 'SUMMARY']];
        for (const incident of incidents) {
          const state = incident.state === 'open' ? pc.red('open') : pc.green('resolved');
          rows.push([state, incident.kind, incident.subject, relativeTime(incident.opened_at), incident.summary]);
        }
        process.stdout.write(`${table(rows)}\n`);
      } finally {
        await backend.close();
      }
    });
}
