/**
 * Crontab lines: which ones start a job, and whether it runs under a lock. System crontabs (/etc/crontab,
 * /etc/cron.d/*) have a user field after the schedule; user crontabs (the spool, `crontab -l`) do not.
 */
import type { CronLine } from '../types.ts';

const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * The job lines of one crontab. Skipped: comments, blank lines, `NAME=value` settings, `@reboot` (runs once, so it
 * cannot overlap itself), and the distribution's `run-parts` lines that drive cron.hourly/daily/weekly/monthly.
 */
export function parseCrontab(text: string, file: string, options: { system: boolean; user: string | null }): CronLine[] {
  const lines: CronLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line)) return;
    const words = line.split(/\s+/);
    if (words[0]?.startsWith('@') && !NICKNAMES.has(words[0])) return;
    // The schedule is 5 fields or one @nickname; a system crontab then names the user.
    const scheduleWords = words[0]?.startsWith('@') ? 1 : 5;
    const leading = scheduleWords + (options.system ? 1 : 0);
    const prefix = new RegExp(`^(?:\\S+\\s+){${leading}}`).exec(line)?.[0];
    if (prefix === undefined) return;
    const user = options.system ? (words[scheduleWords] ?? null) : options.user;
    const command = line.slice(prefix.length);
    if (command === '' || /\brun-parts\b/.test(command)) return;
    lines.push({ file, line: index + 1, text: line, prefix, command, user });
  });
  return lines;
}

/**
 * Whether a cron command runs under a lock: `flock`, `nightshift exec` (or `nightshift lock`), or the usual
 * single-instance wrappers (`run-one`, `lckdo`, `setlock`, `solo`).
 */
export function hasLock(command: string): boolean {
  return /(^|[\s;&|/(])(flock|run-one|lckdo|setlock|solo)(\s|$)/.test(command) || /(^|[\s;&|/(])nightshift\s+(.*\s)?(exec|lock)\b/.test(command);
}
