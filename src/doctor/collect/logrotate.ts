/** logrotate: the patterns its rules cover, and whether anything runs it (its systemd timer, or cron.daily). */
import { posix } from 'node:path';
import { parseIsActive } from '../parse/systemd.ts';
import { parseLogrotateConfig } from '../parse/logrotate.ts';
import type { LogrotateFacts } from '../types.ts';
import type { CommandSource } from '../commands.ts';
import type { HostFs } from './host-fs.ts';

export async function collectLogrotate(fs: HostFs, commands: CommandSource): Promise<LogrotateFacts> {
  const patterns: string[] = [];
  const seen = new Set<string>();
  const queue = ['/etc/logrotate.conf'];
  let installed = (await fs.exists('/etc/logrotate.conf')) || (await fs.isDir('/etc/logrotate.d'));
  if (!(await fs.exists('/etc/logrotate.conf')) && installed) queue.push('/etc/logrotate.d');
  while (queue.length > 0 && seen.size < 500) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    if (await fs.isDir(path)) {
      // logrotate skips backup and package-manager leftovers in included directories.
      for (const name of await fs.list(path)) if (!/(~|\.(dpkg-[a-z]+|rpm[a-z]+|disabled|bak|swp))$/.test(name) && !name.startsWith('.')) queue.push(posix.join(path, name));
      continue;
    }
    const text = await fs.text(path);
    if (text === null) continue;
    const parsed = parseLogrotateConfig(text);
    patterns.push(...parsed.patterns);
    queue.push(...parsed.includes);
  }
  installed ||= patterns.length > 0;
  return { installed, patterns, scheduled: await scheduled(fs, commands) };
}

/**
 * On a systemd host the timer is what runs logrotate (Debian's cron.daily script steps aside when systemd runs);
 * elsewhere a cron.daily script does.
 */
async function scheduled(fs: HostFs, commands: CommandSource): Promise<boolean | null> {
  const timer = await commands('logrotateTimer');
  const timerActive = timer === null ? null : parseIsActive(timer);
  if (timerActive === true) return true;
  const cronScript = await fs.text('/etc/cron.daily/logrotate');
  const cronRuns = cronScript !== null && !(timerActive !== null && cronScript.includes('/run/systemd/system'));
  if (cronRuns) return true;
  if (timerActive === false) return false;
  return null; // no systemd to ask and no cron script: something else may run it (anacron, a custom timer)
}
