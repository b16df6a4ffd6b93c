/**
 * disk.low: a mount with less than 10% free (warning), less than 5% (critical). Seed 000: unrotated logs filled the
 * disk, and then the database could not write, the API could not serve and cron could not start anything.
 */
import { DOCTOR } from '../../config/defaults.ts';
import type { Check, Finding } from '../types.ts';
import { percent, q, size } from './util.ts';

export const checkDiskSpace: Check = (snapshot) => {
  const findings: Finding[] = [];
  for (const mount of snapshot.mounts ?? []) {
    const freePercent = (mount.availBytes / mount.sizeBytes) * 100;
    if (freePercent >= DOCTOR.disk_warn_percent) continue;
    const critical = freePercent < DOCTOR.disk_critical_percent;
    const m = q(mount.mountPoint);
    findings.push({
      id: 'disk.low',
      severity: critical ? 'critical' : 'warning',
      title: `${mount.mountPoint} is ${critical ? 'nearly ' : 'getting '}full: ${percent(mount.availBytes, mount.sizeBytes)} free`,
      detail: `${mount.mountPoint} (${mount.fsType}): ${size(mount.availBytes)} free of ${size(mount.sizeBytes)}; ${critical ? 'below' : 'under'} ${critical ? DOCTOR.disk_critical_percent : DOCTOR.disk_warn_percent}%`,
      fix: [
        `find what grew:  du -xh --max-depth=3 ${m} 2>/dev/null | sort -rh | head -20`,
        'shrink the journal:  journalctl --vacuum-size=200M',
        'truncate (do not delete) a log a process still writes:  truncate -s 0 /path/to/big.log   then add a logrotate rule (logrotate.missing)',
        'docker images, build cache and stopped containers:  docker system prune -af',
        "cap nightshift's own logs:  logs: { max_total: 1G, min_free_disk: 10% }",
      ].join('\n'),
    });
  }
  return findings;
};
