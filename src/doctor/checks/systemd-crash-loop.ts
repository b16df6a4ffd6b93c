/**
 * systemd.crash_loop (warning): a service systemd has restarted more than 100 times (NRestarts). Seed 001:
 * rivet-worker.service at 14,535 restarts, each one a CPU spike on a 1-CPU box; seed 003: 3,751 restarts over a wrong
 * PATH. "Technically always running" is not running.
 */
import { DOCTOR } from '../../config/defaults.ts';
import type { Check } from '../types.ts';

export const checkSystemdCrashLoop: Check = (snapshot) =>
  (snapshot.systemdUnits ?? [])
    .filter((unit) => unit.restarts !== null && unit.restarts > DOCTOR.crash_loop_restarts)
    .map((unit) => ({
      id: 'systemd.crash_loop',
      severity: 'warning' as const,
      title: `${unit.id} has been restarted ${unit.restarts} times`,
      detail: `${unit.id}: NRestarts=${unit.restarts}, now ${unit.activeState} (${unit.subState}); more than ${DOCTOR.crash_loop_restarts} restarts is a crash loop, not a service`,
      fix: [
        `see why it dies:  journalctl -u ${unit.id} -n 50 --no-pager`,
        `stop the loop while you fix it:  systemctl stop ${unit.id}`,
        `a "command not found" or "No module named" there is the unit's PATH or working directory: systemctl cat ${unit.id}`,
        `after the fix:  systemctl reset-failed ${unit.id} && systemctl start ${unit.id}`,
        'or run it as a nightshift service (restart: always), which backs off and reports a crash loop once',
      ].join('\n'),
    }));
