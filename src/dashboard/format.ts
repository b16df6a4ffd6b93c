/** Words and tones for the dashboard: how a time, a duration or a state reads to a person. */
import { humanDuration } from '../util/time.ts';

/** The colour family of a state; the state's own word is always shown beside the colour. */
export type Tone = 'ok' | 'run' | 'warn' | 'bad' | 'off';

const TONES: Record<string, Tone> = {
  succeeded: 'ok',
  up: 'ok',
  idle: 'ok',
  success: 'ok',
  resolved: 'ok',
  sent: 'ok',
  info: 'off',
  running: 'run',
  started: 'run',
  queued: 'run',
  start: 'run',
  new: 'off',
  paused: 'off',
  skipped: 'off',
  log: 'off',
  cancelled: 'off',
  pending: 'warn',
  backoff: 'warn',
  grace: 'warn',
  late: 'warn',
  warning: 'warn',
  failed: 'bad',
  fail: 'bad',
  timed_out: 'bad',
  killed: 'bad',
  lost: 'bad',
  down: 'bad',
  crash_loop: 'bad',
  halted: 'bad',
  breaker_open: 'bad',
  open: 'bad',
  critical: 'bad',
};

export function toneOf(state: string): Tone {
  return TONES[state] ?? 'off';
}

/** `timed_out` → `timed out`. */
export function words(state: string): string {
  return state.replace(/_/g, ' ');
}

/** "3m ago", "in 2h" — relative to `nowMs`; '—' for null. */
export function relative(isoTime: string | null, nowMs: number): string {
  if (isoTime === null) return '—';
  const delta = Date.parse(isoTime) - nowMs;
  const span = Math.abs(delta);
  const text = span < 1000 ? 'now' : humanDuration(roundForPeople(span));
  if (text === 'now') return 'just now';
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

/** Seconds under a minute, minutes under an hour, hours under a day … (a "1h3m12s ago" is noise). */
function roundForPeople(ms: number): number {
  const unit = ms < 60_000 ? 1000 : ms < 3_600_000 ? 60_000 : ms < 86_400_000 ? 60_000 * 60 : 86_400_000;
  return Math.round(ms / unit) * unit;
}

export function duration(ms: number | null): string {
  return ms === null ? '—' : humanDuration(ms);
}

/** A run's duration, or for a running one how long it has run so far. */
export function runDuration(run: { duration_ms: number | null; started_at: string | null; status: string }, nowMs: number): string {
  if (run.duration_ms !== null) return humanDuration(run.duration_ms);
  if (run.status === 'running' && run.started_at !== null) return `${humanDuration(Math.max(0, nowMs - Date.parse(run.started_at)))} so far`;
  return '—';
}

/** The last characters of a ULID: enough to tell runs of one job apart on screen. */
export function shortId(id: string): string {
  return id.length > 8 ? id.slice(-8) : id;
}

/** "2026-12-06 05:53:13 UTC". */
export function utc(isoTime: string | null): string {
  return isoTime === null ? '—' : `${isoTime.slice(0, 19).replace('T', ' ')} UTC`;
}
