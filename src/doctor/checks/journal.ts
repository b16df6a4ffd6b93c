/** journal.large (warning): the systemd journal takes 1 GB or more (journald's own cap is 10% of the disk, up to 4 GB). */
import { DOCTOR } from '../../config/defaults.ts';
import { parseSize } from '../../config/units.ts';
import type { Check } from '../types.ts';
import { size } from './util.ts';

export const checkJournal: Check = (snapshot) => {
  if (snapshot.journalBytes === null || snapshot.journalBytes < parseSize(DOCTOR.journal_max)) return [];
  return [{
    id: 'journal.large',
    severity: 'warning',
    title: `the systemd journal takes ${size(snapshot.journalBytes)}`,
    detail: `journalctl --disk-usage: ${size(snapshot.journalBytes)}; limit advised ${DOCTOR.journal_max} or less`,
    fix: [
      'journalctl --vacuum-size=500M',
      "mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\nSystemMaxUse=500M\\n' > /etc/systemd/journald.conf.d/size.conf",
      'systemctl restart systemd-journald',
    ].join('\n'),
  }];
};
