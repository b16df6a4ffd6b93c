/**
 * cron.no_lock (warning): crontab lines that start a job with no lock, so a run that outlasts its interval overlaps
 * the next one. Seed 000: an 8-minute run under an hourly-ish schedule, two copies writing the same rows, mixed
 * reports. A line counts as locked when it runs under `flock`, `nightshift exec` (or `nightshift lock`), `run-one`,
 * `lckdo`, `setlock` or `solo`.
 */
import { hasLock } from '../parse/cron.ts';
import type { Check } from '../types.ts';

export const checkCronLocks: Check = (snapshot) => {
  const unlocked = (snapshot.cron ?? []).filter((line) => !hasLock(line.command));
  if (unlocked.length === 0) return [];
  const first = unlocked[0]!;
  const name = jobName(first.command);
  return [{
    id: 'cron.no_lock',
    severity: 'warning',
    title: `${unlocked.length} crontab line${unlocked.length === 1 ? '' : 's'} run${unlocked.length === 1 ? 's' : ''} a job with no lock: a slow run overlaps the next`,
    detail: unlocked.map((line) => `${line.file}:${line.line}: ${line.text}`).join('\n'),
    fix: [
      'wrap each command so a second copy does not start while one runs, e.g. for the first line:',
      `  ${first.prefix}flock -n /var/lock/${name}.lock ${wrapped(first.command)}`,
      'or let nightshift lock, time out and record it (no daemon needed):',
      `  ${first.prefix}nightshift exec --job ${name} --lock --timeout 1h -- ${wrapped(first.command)}`,
      'or move the job into nightshift.yaml (schedule: + overlap: skip) and remove the line',
    ].join('\n'),
  }];
};

/**
 * The command as one program for flock or exec: a list of commands (`cd /x && ./run.sh`) goes under `sh -c`, or the
 * wrapper would lock only the first of them. Output redirections may stay outside: cron's shell applies them.
 */
function wrapped(command: string): string {
  const redirect = /\s+(\d?>>?\s*\S+(\s+\d?>&\d)?)\s*$/.exec(command);
  const body = redirect ? command.slice(0, redirect.index) : command;
  if (!/&&|\|\||;|\|/.test(body)) return command;
  return `sh -c '${body.replaceAll("'", `'\\''`)}'${redirect ? ` ${redirect[1]}` : ''}`;
}

/** A name for the lock file and the job, from the command's script or program: `python3 /opt/app/run.py` → `run`. */
function jobName(command: string): string {
  const words = command.split(/\s+/).filter((w) => !w.startsWith('-') && !/^[A-Za-z_]+=/.test(w) && !['cd', '&&', 'sudo', 'nice', 'nohup'].includes(w));
  const script = words.find((w) => /\.(py|sh|js|mjs|rb|php|pl)$/.test(w)) ?? words[0] ?? 'job';
  return (script.split('/').pop() ?? 'job').replace(/\.[a-z]+$/, '').replace(/[^A-Za-z0-9_-]/g, '_') || 'job';
}
