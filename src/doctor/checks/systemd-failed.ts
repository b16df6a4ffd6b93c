/** systemd.failed (warning): units in the failed state (seed 001: nginx, rivet-scheduler, unattended-upgrades). */
import type { Check } from '../types.ts';

export const checkSystemdFailed: Check = (snapshot) => {
  const failed = snapshot.failedUnits ?? [];
  if (failed.length === 0) return [];
  return [{
    id: 'systemd.failed',
    severity: 'warning',
    title: `${failed.length} systemd unit${failed.length === 1 ? ' has' : 's have'} failed`,
    detail: failed.join(', '),
    fix: [
      ...failed.slice(0, 5).map((unit) => `journalctl -u ${unit} -n 30 --no-pager    # why ${unit} failed`),
      'fix the cause, then:  systemctl restart <unit>',
      'a unit that is no longer wanted:  systemctl disable --now <unit> && systemctl reset-failed <unit>',
    ].join('\n'),
  }];
};
