import type { Command } from 'commander';
import { connect } from '../backend.ts';
import { loadCliConfig, requireJob } from '../context.ts';

export function registerPauseResume(program: Command): void {
  for (const verb of ['pause', 'resume'] as const) {
    program
      .command(verb)
      .argument('<job>', 'the job name')
      .description(verb === 'pause' ? 'stop scheduling a job (its fires are recorded as skipped, reason paused)' : 'schedule a paused job again')
      .action(async (name: string, _options: unknown, command: Command) => {
        const config = await loadCliConfig(command);
        requireJob(config, name);
        const backend = await connect(config);
        try {
          await backend.setPaused(name, verb === 'pause');
          process.stdout.write(`${name} ${verb === 'pause' ? 'paused' : 'resumed'}\n`);
        } finally {
          await backend.close();
        }
      });
  }
}
