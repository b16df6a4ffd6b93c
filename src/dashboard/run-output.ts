/**
 * A run's output for the dashboard, read with the same reader as `nightshift logs` (rotated and compressed files
 * included), searched on the text without escape codes, and bounded: a page shows the last MAX_LINES matches.
 */
import { join } from 'node:path';
import { readJobLog, followJobLog } from '../runner/output/log-reader.ts';
import type { LogRecord } from '../runner/output/record.ts';
import { ansiToHtml, stripAnsi } from './ansi.ts';

/** Lines a run page shows at most (the newest); the rest is one `nightshift logs JOB --run ID` away. */
export const MAX_LINES = 2000;

export interface OutputLine {
  time: string;
  stream: 'o' | 'e' | 'n';
  /** The text as the job printed it. */
  text: string;
  /** The same, escaped, colours as spans: safe to insert into a page. */
  html: string;
}

export interface RunOutput {
  lines: OutputLine[];
  /** Lines that matched (all of them without a search); more than `lines.length` when cut. */
  matched: number;
}

export function logsDirOf(stateDir: string): string {
  return join(stateDir, 'logs');
}

export function toLine(record: LogRecord): OutputLine {
  return { time: record.time, stream: record.stream, text: record.text, html: ansiToHtml(record.text) };
}

export async function readRunOutput(stateDir: string, job: string, runId: string, search: string): Promise<RunOutput> {
  const needle = search.trim().toLowerCase();
  const kept: LogRecord[] = [];
  let matched = 0;
  for await (const record of readJobLog(logsDirOf(stateDir), job, { runId })) {
    if (needle !== '' && !stripAnsi(record.text).toLowerCase().includes(needle)) continue;
    matched += 1;
    kept.push(record);
    if (kept.length > MAX_LINES) kept.shift();
  }
  return { lines: kept.map(toLine), matched };
}

/**
 * Follows a run's output from its first line until `signal` aborts: what rotation already moved away first, then the
 * active file from its start, as `nightshift logs -f --run` does.
 */
export async function* followRunOutput(stateDir: string, job: string, runId: string, signal: AbortSignal): AsyncGenerator<LogRecord> {
  const dir = logsDirOf(stateDir);
  yield* readJobLog(dir, job, { runId, rotatedOnly: true });
  yield* followJobLog(dir, job, { runId, signal, from: 'start' });
}
