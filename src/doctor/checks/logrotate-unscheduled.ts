/**
 * logrotate.unscheduled (warning): logrotate is configured but nothing runs it — neither its systemd timer nor a
 * cron.daily script — so every rule, however right, rotates nothing.
 */
import type { Check } from '../types.ts';

export const checkLogrotateUnscheduled: Check = (snapshot) => {
  const { installed, scheduled } = snapshot.logrotate;
  if (!installed || scheduled !== false) return [];
  return [{
    id: 'logrotate.unscheduled',
    severity: 'warning',
    title: 'logrotate is configured but never runs',
    detail: 'logrotate.timer is not active and no /etc/cron.daily/logrotate runs it',
    fix: ['systemctl enable --now logrotate.timer', 'systemctl list-timers logrotate.timer    # shows the next run', 'logrotate -v /etc/logrotate.conf    # rotate once now'].join('\n'),
  }];
};
