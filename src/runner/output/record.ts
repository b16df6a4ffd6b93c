/**
 * One line of a job log: `<ISO-8601 time> <runId> <o|e|n> <text>\n`.
 *
 * `o` and `e` are the child's stdout and stderr; `n` is a note from nightshift itself (dropped-output markers), kept
 * apart so that `nightshift logs` never passes our words off as the job's stderr. Records carry the run id because
 * overlapping runs of one job share one file; the reader filters on it.
 */

export type RecordStream = 'o' | 'e' | 'n';

export interface LogRecord {
  /** As written: ISO-8601 UTC with milliseconds. */
  time: string;
  runId: string;
  stream: RecordStream;
  text: string;
}

/** The part before the text, with its trailing space. One per chunk: lines read together share a timestamp. */
export function recordPrefix(time: Date, runId: string, stream: RecordStream): string {
  return `${time.toISOString()} ${runId} ${stream} `;
}

export function formatRecord(time: Date, runId: string, stream: RecordStream, text: string): string {
  return `${recordPrefix(time, runId, stream)}${text}\n`;
}

/** Parses one line (without its newline); null for a line that is not a record (e.g. cut by a crash mid-write). */
export function parseRecord(line: string): LogRecord | null {
  const a = line.indexOf(' ');
  const b = a === -1 ? -1 : line.indexOf(' ', a + 1);
  const c = b === -1 ? -1 : line.indexOf(' ', b + 1);
  if (c === -1) return null;
  const stream = line.slice(b + 1, c);
  if (stream !== 'o' && stream !== 'e' && stream !== 'n') return null;
  return { time: line.slice(0, a), runId: line.slice(a + 1, b), stream, text: line.slice(c + 1) };
}
