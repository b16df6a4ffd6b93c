/** Cron schedules and time zones, checked the way the scheduler (croner) will read them. */

import { Cron } from 'croner';
import { nearest } from './suggest.ts';
import { UnitError } from './units.ts';

export const CRON_FIX = 'write 5 fields (minute hour day-of-month month day-of-week) like "0 * * * *", or 6 with seconds first';

/** croner reads these too, but the contract is "5 or 6 fields": say what to write instead. */
const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Checks a cron expression (5 fields, or 6 with seconds first) and returns it trimmed. */
export function readCron(input: string): string {
  const expression = input.trim().replace(/\s+/g, ' ');
  if (expression === '') throw new UnitError('the schedule is empty', CRON_FIX);
  const nickname = NICKNAMES[expression.toLowerCase()];
  if (nickname !== undefined) throw new UnitError(`'${expression}' is a nickname, not 5 or 6 fields`, `write "${nickname}" instead`);
  const fields = expression.split(' ').length;
  if (fields !== 5 && fields !== 6) throw new UnitError(`'${expression}' has ${fields} field${fields === 1 ? '' : 's'}`, CRON_FIX);
  let job: Cron;
  try {
    job = new Cron(expression, { paused: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Cron\w*:\s*/, '').replace(/;/g, ',') : String(error);
    throw new UnitError(`'${expression}' is not a valid cron schedule (${reason})`, CRON_FIX);
  }
  const next = job.nextRun();
  job.stop();
  if (next === null) throw new UnitError(`'${expression}' never fires`, 'check the day-of-month and month fields (no month has a 31st of February)');
  return expression;
}

/** An IANA zone the runtime knows (`Europe/Berlin`, `UTC`), as written. */
export function readTimeZone(input: string): string {
  const zone = input.trim();
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    const near = nearest(zone, [...Intl.supportedValuesOf('timeZone'), 'UTC']);
    const fix = near === undefined ? 'write an IANA zone name like Europe/Berlin, America/New_York or UTC' : `did you mean '${near}'?`;
    throw new UnitError(`'${zone}' is not a time zone`, fix);
  }
}
