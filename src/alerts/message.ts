/**
 * The plain-text message every channel starts from (Notification.text), and the helpers that keep it within a
 * channel's limit. Shortening keeps what a human acts on: the headline, the END of the stderr tail (where the error
 * usually is) and the fix; it drops from the middle and says so. Every cut lands on a grapheme boundary, so an emoji
 * or an accented letter is never split into mojibake.
 */
import { humanDuration } from '../util/time.ts';
import type { Incident, NotificationEvent } from './types.ts';

const LABEL: Record<NotificationEvent, string> = {
  'incident.opened': 'OPEN',
  'incident.resolved': 'RESOLVED',
  'incident.renotify': 'STILL OPEN',
};

/** Marks where text was cut. */
export const TRUNCATED = '… (truncated)';

/**
 * How a limit is counted. `utf16` (JavaScript's string length) is what Slack, Discord and Telegram count, and is
 * never below the number of characters, so it is also safe where a service counts code points. `utf8` is bytes
 * (ntfy's 4,096-byte message).
 */
export type Measure = 'utf16' | 'utf8';

/** `[seo-scanner] OPEN job_late: scan`: short, one line, for title fields (ntfy Title, Slack fallback). */
export function renderTitle(event: NotificationEvent, project: string, incident: Incident): string {
  return oneLine(`[${project}] ${LABEL[event]} ${incident.kind}: ${incident.subject}`);
}

/** The title and the summary on one line: the first line of the text, an email subject, PagerDuty's summary. */
export function renderHeadline(event: NotificationEvent, project: string, incident: Incident): string {
  return oneLine(`${renderTitle(event, project, incident)} — ${incident.summary}`);
}

/** The whole message: what happened, since when, the detail that applies, then the fix. */
export function renderText(event: NotificationEvent, project: string, incident: Incident): string {
  const { detail } = incident;
  const lines = [renderHeadline(event, project, incident), `Since: ${detail.since ?? incident.opened_at}`];
  if (incident.resolved_at !== null) {
    const openMs = Date.parse(incident.resolved_at) - Date.parse(detail.since ?? incident.opened_at);
    const after = Number.isFinite(openMs) && openMs >= 0 ? ` (after ${humanDuration(openMs)})` : '';
    lines.push(`Resolved: ${incident.resolved_at}${after}`);
  }
  if (detail.run_id !== undefined) lines.push(`Run: ${detail.run_id}`);
  if (detail.exit_codes !== undefined && detail.exit_codes.length > 0) {
    lines.push(`Exit codes: ${detail.exit_codes.join(', ')}`);
  } else if (detail.exit_code !== undefined && detail.exit_code !== null) {
    lines.push(`Exit code: ${detail.exit_code}`);
  }
  if (detail.flaps !== undefined && detail.flaps > 0) lines.push(`Flapped: cleared and came back ${detail.flaps} times`);
  if (detail.last_ping === null) lines.push('Last ping: never');
  if (detail.last_ping) {
    const ping = detail.last_ping;
    const code = ping.exit_code === null ? '' : `, exit code ${ping.exit_code}`;
    lines.push(`Last ping: ${ping.kind} at ${ping.at}${code}`);
    if (ping.body !== null && ping.body.trim() !== '') lines.push('Ping body:', ...block(ping.body.split('\n')));
  }
  if (detail.path !== undefined) lines.push(`PATH: ${oneLine(detail.path)}`);
  if (detail.stderr_tail !== undefined && detail.stderr_tail.length > 0) {
    const tail = detail.stderr_tail.flatMap((line) => line.split('\n'));
    lines.push(`Stderr (last ${tail.length === 1 ? "line" : `${tail.length} lines`}):`, ...block(tail));
  }
  lines.push(`Fix: ${oneLine(detail.fix)}`);
  return lines.join('\n');
}

/**
 * Keeps `text` within `max`, cutting at the end: on the last line break when that keeps at least half, and marking
 * the cut with TRUNCATED. For text whose end matters less than its start (a summary, a ping body).
 */
export function truncate(text: string, max: number, measure: Measure = 'utf16'): string {
  if (sizeOf(text, measure) <= max) return text;
  const room = max - sizeOf(TRUNCATED, measure);
  if (room <= 1) return prefix(text, max, measure);
  const cut = prefix(text, room - 1, measure); // one unit for the line break before the mark
  const lineEnd = cut.lastIndexOf('\n');
  if (lineEnd >= cut.length / 2) return `${cut.slice(0, lineEnd)}\n${TRUNCATED}`;
  return `${prefix(text, room, measure).trimEnd()}${TRUNCATED}`;
}

/** One line within `max` (a title, a subject, PagerDuty's summary): line breaks become spaces, a cut ends in `…`. */
export function clipLine(text: string, max: number, measure: Measure = 'utf16'): string {
  const line = oneLine(text);
  if (sizeOf(line, measure) <= max) return line;
  return `${prefix(line, max - sizeOf('…', measure), measure).trimEnd()}…`;
}

/**
 * Fits a rendered message into `max`: every line is first capped at a quarter of the limit (one huge line must not
 * crowd out the rest), then the first `headLines` lines (headline, since) are kept, then as many lines from the
 * end (stderr tail, fix) as fit, with TRUNCATED where the middle was dropped.
 */
export function fitText(text: string, max: number, measure: Measure = 'utf16', headLines = 2): string {
  if (sizeOf(text, measure) <= max) return text;
  const lineCap = Math.max(16, Math.floor(max / 4));
  const lines = text.split('\n').map((line) => clipLine(line, lineCap, measure));
  const capped = lines.join('\n');
  if (sizeOf(capped, measure) <= max) return capped;
  const head = lines.slice(0, headLines);
  let used = sizeOf(`${head.join('\n')}\n${TRUNCATED}`, measure);
  const tail: string[] = [];
  for (let i = lines.length - 1; i >= head.length; i--) {
    const line = lines[i] ?? '';
    const cost = sizeOf(line, measure) + 1;
    if (used + cost > max) break;
    tail.unshift(line);
    used += cost;
  }
  return truncate([...head, TRUNCATED, ...tail].join('\n'), max, measure);
}

/**
 * fitText for a service that needs some characters escaped (Slack's `&<>`, Discord's markdown): escaping makes the
 * text longer, so the budget shrinks by the overshoot until the escaped text fits. Escapes are never cut in half.
 */
export function fitEscaped(text: string, max: number, escape: (text: string) => string, fit = fitText): string {
  for (let budget = max; budget > 0; ) {
    const escaped = escape(fit(text, budget));
    if (escaped.length <= max) return escaped;
    budget -= escaped.length - max;
  }
  return '';
}

export function sizeOf(text: string, measure: Measure): number {
  return measure === 'utf8' ? Buffer.byteLength(text, 'utf8') : text.length;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The longest start of `text` within `max`, ending on a grapheme boundary. */
function prefix(text: string, max: number, measure: Measure): string {
  if (max <= 0) return '';
  let end = Math.min(text.length, max);
  if (measure === 'utf8') {
    // A UTF-16 unit is 1 to 3 bytes: dropping a third of the excess in units never drops more than needed.
    let bytes = Buffer.byteLength(text.slice(0, end), 'utf8');
    while (bytes > max) {
      end -= Math.max(1, Math.floor((bytes - max) / 3));
      bytes = Buffer.byteLength(text.slice(0, end), 'utf8');
    }
  }
  const around = graphemes.segment(text).containing(end);
  if (around !== undefined && around.index < end) end = around.index;
  return text.slice(0, end);
}

/** Lines from a program or a person, indented under their heading, without terminal escapes or control bytes. */
function block(lines: readonly string[]): string[] {
  return lines.map((line) => `  ${clean(line)}`);
}

// Terminal colours and cursor moves (CSI, OSC) mean nothing in a chat message or an email.
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)?/g;
// Tab stays; a line break never reaches here.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

function clean(line: string): string {
  // A progress bar redraws with \r: what a human saw last is the part after the last one.
  const shown = line.replace(ANSI, '').split('\r').filter((part) => part !== '').at(-1) ?? '';
  return shown.replace(CONTROL, '').trimEnd();
}

function oneLine(text: string): string {
  return clean(text.replace(/\r?\n|\r/g, ' '));
}
