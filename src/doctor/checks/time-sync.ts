/**
 * time.unsynced (warning): the clock is not synchronised. Schedules fire on wall-clock time, dead-man's switches
 * compare timestamps with other machines, TLS fails on a clock that is far off, and logs from two hosts stop lining up.
 */
import type { Check } from '../types.ts';

export const checkTime: Check = (snapshot) => {
  const time = snapshot.time;
  if (time === null || time.synchronized) return [];
  const serviceOff = time.ntpEnabled === false;
  return [{
    id: 'time.unsynced',
    severity: 'warning',
    title: 'the system clock is not synchronised',
    detail: `timedatectl: NTPSynchronized=no, NTP=${time.ntpEnabled === null ? '?' : time.ntpEnabled ? 'yes' : 'no'}${serviceOff ? ' (no time service enabled)' : ''}`,
    fix: serviceOff
      ? ['timedatectl set-ntp true    # starts systemd-timesyncd', 'apt-get install -y systemd-timesyncd    # if set-ntp says no service is available (or install chrony)'].join('\n')
      : ['timedatectl timesync-status    # or: chronyc tracking', 'outgoing UDP port 123 must be allowed (firewall, provider)', 'systemctl restart systemd-timesyncd'].join('\n'),
  }];
};
