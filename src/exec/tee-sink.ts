import type { OutputSink } from '../runner/types.ts';

/**
 * Writes a run's output to its log and echoes it to our own stdout/stderr, so a crontab line wrapped in
 * `nightshift exec` still prints (and mails) what it printed before.
 */
export function teeSink(log: OutputSink, echo: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): OutputSink {
  return {
    write(stream, chunk) {
      log.write(stream, chunk);
      (stream === 'out' ? echo.out : echo.err).write(chunk);
    },
    end() {
      log.end();
    },
  };
}
