/**
 * `nightshift heartbeat [NOTE]`: inside a run, tells the daemon the run is alive (jobs with `heartbeat:` are killed as
 * stalled without one). Light: see run-report.ts.
 */
import type { Command } from 'commander';
import { notWatched, reportTarget, sendReport } from '../run-report.ts';

export function registerHeartbeat(program: Command): void {
  program
    .command('heartbeat')
    .argument('[note]', 'a short note sent along, e.g. what the run is working on')
    .description('inside a run: tell the daemon the run is alive (what `heartbeat:` in a job expects); needs no config')
    .action(async (note: string | undefined) => {
      const target = reportTarget(process.env, 'heartbeat');
      if (target === null) return notWatched('heartbeat');
      await sendReport(target, note === undefined ? undefined : { note }, 'heartbeat');
    });
}
