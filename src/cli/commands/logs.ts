import type { Command } from 'commander';
import { join } from 'node:path';
import { readJobLog, followJobLog } from '../../runner/output/log-reader.ts';
import type { LogRecord } from '../../runner/output/record.ts';
import { openStore } from '../../store/open.ts';
import { FINISHED_STATUSES } from '../../store/types.ts';
import { loadCliConfig, requireRecordedJob } from '../context.ts';
import { jobLogDir } from '../../runner/output/log-files.ts';
import { existsSync } from 'node:fs';
import { parseLimit } from '../options.ts';

interface LogsFlags {
  run?: string;
  follow?: boolean;
  lines?: string;
  timestamps?: boolean;
}

/** How often `logs --run ID -f` checks whether the run has ended. */
const RUN_END_CHECK_MS = 1_000;

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .argument('<job>', 'the job name')
    .description("what a job printed (rotated and compressed files included), oldest first")
    .option('--run <id>', 'only this run')
    .option('-f, --follow', 'keep printing new output (with --run: until that run ends)')
    .option('-n, --lines <n>', 'show the last N lines (default 200; every line of the run with --run)')
    .option('-t, --timestamps', 'prefix each line with its time and stream (o, e, or n for nightshift notes)')
    .action(async (name: string, flags: LogsFlags, command: Command) => {
      const config = await loadCliConfig(command);
      const logsDir = join(config.stateDir, 'logs');
      await requireRecordedJob(config, name, async () => {
        try {
          return existsSync(jobLogDir(logsDir, name));
        } catch {
          return false; // not a name a job can have (e.g. a path): it has no logs
        }
      });
      const limit = flags.lines !== undefined ? parseLimit(flags.lines, '--lines') : flags.run ? Infinity : 200;
      const print = (record: LogRecord) =>
        process.stdout.write(flags.timestamps ? `${record.time} ${record.stream} ${record.text}\n` : `${record.text}\n`);

      const runFilter = flags.run ? { runId: flags.run } : {};
      // The last `limit` records, printed once the history is read; the follower then prints as records arrive.
      const tail: LogRecord[] = [];
      const keep = (record: LogRecord) => {
        tail.push(record);
        if (tail.length > limit) tail.shift();
      };
      if (!flags.follow) {
        for await (const record of readJobLog(logsDir, name, runFilter)) keep(record);
        tail.forEach(print);
        if (tail.length === 0) process.stderr.write(`nightshift: no output recorded for ${name}${flags.run ? ` run ${flags.run}` : ''}\n`);
        return;
      }

      // Following: rotated files first, then the active file through the follower from its start, so no record
      // written between reading the history and starting to follow is lost.
      for await (const record of readJobLog(logsDir, name, { ...runFilter, rotatedOnly: true })) keep(record);
      let live = false;
      const goLive = () => {
        live = true;
        tail.forEach(print);
        tail.length = 0;
      };
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      if (flags.run) void stopWhenRunEnds(config.store, flags.run, stop);
      for await (const record of followJobLog(logsDir, name, { signal: stop.signal, from: 'start', onCaughtUp: goLive, ...runFilter })) {
        if (live) print(record);
        else keep(record);
      }
      if (!live) goLive();
    });
}

async function stopWhenRunEnds(storeConfig: Parameters<typeof openStore>[0], runId: string, stop: AbortController): Promise<void> {
  const store = await openStore(storeConfig);
  try {
    while (!stop.signal.aborted) {
      const run = await store.getRun(runId);
      // A grace of one more check lets the follower read the run's last lines before it stops.
      if (!run || FINISHED_STATUSES.includes(run.status)) {
        await new Promise((resolve) => setTimeout(resolve, RUN_END_CHECK_MS));
        stop.abort();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, RUN_END_CHECK_MS));
    }
  } finally {
    await store.close();
  }
}
