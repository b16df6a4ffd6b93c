/**
 * `nightshift output [N] [--spend X]` and `nightshift retry-after D`: inside a run, report outputs (for the job's
 * breaker), spend (for its budget), and when a rate-limited retry may come (honoured when the run exits 75).
 * Light: see run-report.ts.
 */
import type { Command } from 'commander';
import { usageError } from '../errors.ts';
import { notWatched, reportTarget, sendReport } from '../run-report.ts';

export function registerOutput(program: Command): void {
  program
    .command('output')
    .argument('[n]', 'how many outputs this run produced just now (default 1)')
    .option('--spend <amount>', 'money or tokens spent just now, counted against the job\'s budget: (e.g. 0.12)')
    .description('inside a run: count outputs (posts, emails, API writes) for breaker: and spend for budget:')
    .action(async (n: string | undefined, options: { spend?: string }) => {
      const outputs = n === undefined ? (options.spend !== undefined ? 0 : 1) : Number(n);
      if (!Number.isInteger(outputs) || outputs < 0) throw usageError(`N must be a whole number of 0 or more; got '${n}'`);
      const spend = options.spend === undefined ? 0 : Number(options.spend);
      if (!Number.isFinite(spend) || spend < 0) throw usageError(`--spend must be a number of 0 or more, like 0.12; got '${options.spend}'`);
      const target = reportTarget(process.env, 'outputs');
      if (target === null) return notWatched('output');
      await sendReport(target, { outputs, spend }, 'output');
    });
}

export function registerRetryAfter(program: Command): void {
  program
    .command('retry-after')
    .argument('<duration>', 'how long to wait before the retry, e.g. 90s or 2m (a rate limit\'s Retry-After)')
    .description('inside a run: ask for the retry to wait this long; exit 75 (EX_TEMPFAIL) afterwards to be retried then')
    .action(async (duration: string) => {
      const seconds = /^\d+$/.test(duration) ? Number(duration) : null;
      if (seconds === null && !/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(duration)) {
        throw usageError(`DURATION must be like 90s, 2m or 1h, or a number of seconds; got '${duration}'`);
      }
      const target = reportTarget(process.env, 'retry-after');
      if (target === null) return notWatched('retry-after');
      await sendReport(target, { after: seconds ?? duration }, 'retry-after');
    });
}
