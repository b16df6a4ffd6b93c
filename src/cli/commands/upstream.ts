/**
 * `nightshift upstream JOB [--within D] [--json]`: the SDK's `upstream.fresh` for shell scripts — exit 0 when JOB's
 * last success is within the window, 1 when it is stale (docs/coordination.md).
 */
import type { Command } from 'commander';
import { connectCoordination, durationFlag } from '../coordination-backend.ts';
import { EXIT_FAILED } from '../errors.ts';
import { printJson } from '../format.ts';
import { humanDuration } from '../../util/time.ts';

export function registerUpstream(program: Command): void {
  program
    .command('upstream')
    .argument('<job>', 'the upstream job')
    .option('--within <duration>', "how recent its last success must be, e.g. 2h (inside a run whose job has after: on JOB, its max_age)")
    .option('--json', 'print the freshness as JSON')
    .description("whether a job succeeded recently: exit 0 when fresh, 1 when stale")
    .action(async (job: string, options: { within?: string; json?: boolean }, command: Command) => {
      const withinMs = options.within === undefined ? null : durationFlag(options.within, '--within', '0s');
      const backend = await connectCoordination(command);
      try {
        const freshness = await backend.freshness(job, withinMs);
        if (options.json) printJson(freshness);
        else {
          const age = freshness.age_ms === null ? 'has never succeeded' : `last succeeded ${humanDuration(freshness.age_ms)} ago`;
          process.stdout.write(`${job} is ${freshness.fresh ? 'fresh' : 'stale'}: it ${age} (window ${humanDuration(freshness.within_ms)})\n`);
        }
        if (!freshness.fresh) process.exitCode = EXIT_FAILED;
      } finally {
        await backend.close();
      }
    });
}
