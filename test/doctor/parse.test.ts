/** The parsers of what /proc, systemctl, df, ufw, journalctl, timedatectl, crontab and logrotate print. */
import { describe, expect, it } from 'vitest';
import { parseCpuList, parseLoadavg, parseMeminfo, parseVmstatOomKills } from '../../src/doctor/parse/proc.ts';
import { parseDf } from '../../src/doctor/parse/df.ts';
import { parseFailedUnits, parseIsActive, parseSystemctlShow } from '../../src/doctor/parse/systemd.ts';
import { oomLines, parseJournalDiskUsage, parseTimedatectl, parseUfwStatus } from '../../src/doctor/parse/host-tools.ts';
import { hasLock, parseCrontab } from '../../src/doctor/parse/cron.ts';
import { globMatches, parseLogrotateConfig } from '../../src/doctor/parse/logrotate.ts';

describe('/proc and /sys', () => {
  it('meminfo in bytes, MemAvailable estimated on old kernels', () => {
    expect(parseMeminfo('MemTotal: 1000 kB\nMemAvailable: 400 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n')).toEqual({ memTotalBytes: 1024000, memAvailableBytes: 409600, swapTotalBytes: 0, swapFreeBytes: 0 });
    expect(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n')!.memAvailableBytes).toBe(310 * 1024);
    expect(parseMeminfo('garbage')).toBeNull();
  });
  it('loadavg, cpu lists, vmstat', () => {
    expect(parseLoadavg('7.43 7.52 7.61 9/412 31337\n')).toEqual({ one: 7.43, five: 7.52, fifteen: 7.61 });
    expect(parseLoadavg('')).toBeNull();
    expect(parseCpuList('0\n')).toBe(1);
    expect(parseCpuList('0-3,6,8-9')).toBe(7);
    expect(parseCpuList('x')).toBeNull();
    expect(parseVmstatOomKills('pgfault 1\noom_kill 3\n')).toBe(3);
    expect(parseVmstatOomKills('pgfault 1\n')).toBeNull();
  });
});

describe('df', () => {
  const header = 'Mounted on Type 1B-blocks Avail Inodes IFree\n';
  it('keeps disks and the tmpfs programs write to; skips images, overlays and pseudo filesystems', () => {
    const mounts = parseDf(
      header +
        '/ ext4 1000 100 50 40\n' +
        '/mnt/my disk ext4 1000 500 50 40\n' +
        '/run tmpfs 100 90 10 9\n' +
        '/sys/fs/cgroup tmpfs 4 4 1 1\n' +
        '/snap/core/1 squashfs 64 0 10 0\n' +
        '/var/lib/docker/overlay2/x/merged overlay 1000 100 50 40\n' +
        '/data btrfs 1000 100 - -\n',
    );
    expect(mounts.map((m) => m.mountPoint)).toEqual(['/', '/mnt/my disk', '/run', '/data']);
    expect(mounts[3]).toMatchObject({ inodes: 0, inodesFree: 0 });
  });
});

describe('systemctl', () => {
  it('show: blocks of properties', () => {
    expect(parseSystemctlShow('Id=a.service\nActiveState=active\nSubState=running\nNRestarts=3\n\nId=b.service\nActiveState=failed\nSubState=failed\nNRestarts=\n')).toEqual([
      { id: 'a.service', activeState: 'active', subState: 'running', restarts: 3 },
      { id: 'b.service', activeState: 'failed', subState: 'failed', restarts: null },
    ]);
  });
  it('list-units --failed, with or without the bullet', () => {
    expect(parseFailedUnits('● nginx.service loaded failed failed nginx\nbackup.mount loaded failed failed /backup\n\n')).toEqual(['nginx.service', 'backup.mount']);
    expect(parseFailedUnits('')).toEqual([]);
  });
  it('is-active', () => {
    expect(parseIsActive('active\n')).toBe(true);
    expect(parseIsActive('inactive\n')).toBe(false);
    expect(parseIsActive('')).toBeNull();
  });
});

describe('ufw, timedatectl, journalctl', () => {
  it('ufw status verbose', () => {
    expect(parseUfwStatus('Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), deny (routed)\n')).toEqual({ active: true, inputPolicy: 'DROP' });
    expect(parseUfwStatus('Status: inactive\n')).toEqual({ active: false, inputPolicy: null });
    expect(parseUfwStatus('ERROR: You need to be root to run this script\n')).toBeNull();
  });
  it('timedatectl show', () => {
    expect(parseTimedatectl('NTP=no\nNTPSynchronized=no\n')).toEqual({ synchronized: false, ntpEnabled: false });
    expect(parseTimedatectl('Timezone=UTC\n')).toBeNull();
  });
  it('journal disk usage and OOM lines', () => {
    expect(parseJournalDiskUsage('Archived and active journals take up 3.9G in the file system.')).toBe(Math.floor(3.9 * 1024 ** 3));
    expect(parseJournalDiskUsage('Archived and active journals take up 184.0M in the file system.')).toBe(184 * 1024 ** 2);
    expect(parseJournalDiskUsage('No journal files were found.')).toBeNull();
    expect(oomLines('a invoked oom-killer: gfp_mask\nOut of memory: Killed process 12 (ruby) total-vm\nOut of memory: Kill process 13 (x) score 1 or sacrifice child\nKilled process 13 (x) total-vm:1kB\n')).toEqual([
      'Out of memory: Killed process 12 (ruby) total-vm',
      'Killed process 13 (x) total-vm:1kB',
    ]);
  });
});

describe('crontab', () => {
  it('system crontab: user field; settings, comments, @reboot and run-parts skipped', () => {
    const text = 'SHELL=/bin/bash\n# comment\n@reboot root /opt/warm.sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n0 * * * * deploy python3 run.py\n@hourly app ./x.sh\n';
    expect(parseCrontab(text, '/etc/cron.d/a', { system: true, user: null }).map((l) => [l.line, l.user, l.command])).toEqual([
      [5, 'deploy', 'python3 run.py'],
      [6, 'app', './x.sh'],
    ]);
  });
  it('keeps the schedule as written, tabs included, for the fix', () => {
    expect(parseCrontab('0 3\t* * *\troot\t/opt/backup.sh  --full\n', '/etc/crontab', { system: true, user: null })[0]).toMatchObject({ prefix: '0 3\t* * *\troot\t', command: '/opt/backup.sh  --full', user: 'root' });
  });
  it('user crontab: no user field', () => {
    expect(parseCrontab('*/5 * * * * /opt/a/run.sh --x\n', '/var/spool/cron/crontabs/bob', { system: false, user: 'bob' })[0]).toMatchObject({ user: 'bob', command: '/opt/a/run.sh --x' });
  });
  it('lock detection', () => {
    expect(hasLock('flock -n /tmp/l ./a')).toBe(true);
    expect(hasLock('cd /x && /usr/bin/flock -w 0 l ./a')).toBe(true);
    expect(hasLock('nightshift exec --job a -- ./a')).toBe(true);
    expect(hasLock('./flock.sh')).toBe(false);
    expect(hasLock('python3 run.py')).toBe(false);
  });
});

describe('logrotate config', () => {
  it('patterns of every rule, several per rule and over lines, quoted; includes; directives skipped', () => {
    const text = 'weekly\nrotate 4\ninclude /etc/logrotate.d\n/var/log/wtmp {\n  monthly\n}\n/var/log/a.log\n"/var/log/with space.log" /var/log/b.log {\n  postrotate\n    kill -HUP `cat /run/x.pid`\n  endscript\n}\n/opt/app/logs/*.log { daily }\n';
    expect(parseLogrotateConfig(text)).toEqual({
      patterns: ['/var/log/wtmp', '/var/log/a.log', '/var/log/with space.log', '/var/log/b.log', '/opt/app/logs/*.log'],
      includes: ['/etc/logrotate.d'],
    });
  });
  it('globs', () => {
    expect(globMatches('/opt/*/logs/*.log', '/opt/a/logs/x.log')).toBe(true);
    expect(globMatches('/opt/*.log', '/opt/a/x.log')).toBe(false);
    expect(globMatches('/var/log/app?.log', '/var/log/app1.log')).toBe(true);
    expect(globMatches('/var/log/[!x].log', '/var/log/x.log')).toBe(false);
    expect(globMatches('/var/log/a.log', '/var/log/a_log')).toBe(false);
  });
});
