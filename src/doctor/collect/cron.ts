/**
 * Every crontab on the host: /etc/crontab, /etc/cron.d/*, the users' spool (Debian's /var/spool/cron/crontabs/USER,
 * Red Hat's /var/spool/cron/USER; readable by root only), and `crontab -l` for the invoking user when the spool is
 * not readable. Files a package installed (dpkg conffiles) are the distribution's and are left out.
 */
import { posix } from 'node:path';
import { parseCrontab } from '../parse/cron.ts';
import type { CronLine } from '../types.ts';
import type { CommandSource } from '../commands.ts';
import type { HostFs } from './host-fs.ts';

export async function collectCron(fs: HostFs, commands: CommandSource): Promise<CronLine[] | null> {
  const packaged = await packagedFiles(fs);
  const lines: CronLine[] = [];
  let readAny = false;
  const system = async (path: string) => {
    if (packaged.has(path)) return;
    const text = await fs.text(path);
    if (text === null) return;
    readAny = true;
    lines.push(...parseCrontab(text, path, { system: true, user: null }));
  };
  await system('/etc/crontab');
  // cron ignores names in cron.d with dots (run-parts rules): `foo.dpkg-old`, `.placeholder`.
  for (const name of await fs.list('/etc/cron.d')) if (/^[A-Za-z0-9_-]+$/.test(name)) await system(posix.join('/etc/cron.d', name));
  let spoolRead = false;
  for (const dir of ['/var/spool/cron/crontabs', '/var/spool/cron']) {
    for (const user of await fs.list(dir)) {
      const path = posix.join(dir, user);
      if (user === 'crontabs' || !(await fs.exists(path)) || (await fs.isDir(path))) continue;
      const text = await fs.text(path);
      if (text === null) continue;
      spoolRead = readAny = true;
      lines.push(...parseCrontab(text, path, { system: false, user }));
    }
  }
  if (!spoolRead) {
    const own = await commands('crontab');
    if (own !== null) {
      readAny = true;
      lines.push(...parseCrontab(own, 'crontab -l', { system: false, user: null }));
    }
  }
  return readAny ? lines : null;
}

/** Paths that dpkg lists as some package's conffiles. */
async function packagedFiles(fs: HostFs): Promise<Set<string>> {
  const files = new Set<string>();
  const dir = '/var/lib/dpkg/info';
  for (const name of await fs.list(dir)) {
    if (!name.endsWith('.conffiles')) continue;
    const text = await fs.text(posix.join(dir, name));
    for (const line of text?.split('\n') ?? []) if (line.startsWith('/etc/cron')) files.add(line.trim());
  }
  return files;
}
