import pc from 'picocolors';
import type { Run, RunStatus } from '../store/types.ts';
import { humanDuration } from '../util/time.ts';

/** Plain columns padded to the widest cell; the first row is the header. Colour codes do not count toward width. */
export function table(rows: string[][]): string {
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows
    .map((row, r) => {
      const line = row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell)))).join('  ');
      return r === 0 ? pc.bold(line) : line;
    })
    .join('\n');
}

const STATUS_COLOURS: Record<RunStatus, (s: string) => string> = {
  succeeded: pc.green,
  failed: pc.red,
  timed_out: pc.red,
  killed: pc.red,
  lost: pc.yellow,
  skipped: pc.dim,
  queued: pc.cyan,
  running: pc.blue,
};

/** Status told by text as well as colour (colour only on a TTY; NO_COLOR honoured by picocolors). */
export function colourStatus(status: RunStatus): string {
  return STATUS_COLOURS[status](status);
}

/** "3m ago", "in 12s" relative to now; "-" for null. */
export function relativeTime(isoTime: string | null, now: number = Date.now()): string {
  if (!isoTime) return '-';
  const delta = Date.parse(isoTime) - now;
  const text = humanDuration(Math.abs(delta));
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

export function runOutcome(run: Run): string {
  const parts: string[] = [colourStatus(run.status)];
  if (run.reason) parts.push(`(${run.reason})`);
  if (run.exit_code !== null && run.status !== 'succeeded') parts.push(`exit ${run.exit_code}`);
  if (run.signal) parts.push(run.signal);
  return parts.join(' ');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
