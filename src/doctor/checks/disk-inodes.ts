/**
 * disk.inodes: a mount with less than 10% of its inodes free (warning), less than 5% (critical): a disk out of inodes
 * refuses new files with "No space left on device" while `df -h` shows room — usually millions of small files
 * (sessions, caches, mail queues, per-run temp files).
 */
import { DOCTOR } from '../../config/defaults.ts';
import type { Check, Finding } from '../types.ts';
import { percent, q } from './util.ts';

export const checkDiskInodes: Check = (snapshot) => {
  const findings: Finding[] = [];
  for (const mount of snapshot.mounts ?? []) {
    if (mount.inodes === 0) continue; // btrfs and others allocate inodes on demand
    const freePercent = (mount.inodesFree / mount.inodes) * 100;
    if (freePercent >= DOCTOR.disk_warn_percent) continue;
    const critical = freePercent < DOCTOR.disk_critical_percent;
    findings.push({
      id: 'disk.inodes',
      severity: critical ? 'critical' : 'warning',
      title: `${mount.mountPoint} is running out of inodes: ${percent(mount.inodesFree, mount.inodes)} free`,
      detail: `${mount.mountPoint} (${mount.fsType}): ${mount.inodesFree} of ${mount.inodes} inodes free`,
      fix: [
        `find the directories with the most files:  du -x --inodes ${q(mount.mountPoint)} 2>/dev/null | sort -rn | head -20`,
        'delete the small files piling up there (old sessions, caches, temp files), and have whatever writes them clean up',
      ].join('\n'),
    });
  }
  return findings;
};
