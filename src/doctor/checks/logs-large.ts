/** logs.large (warning): a single log file of 500 MB or more (seed 000: a 1 GB/day log on a 40 GB disk). */
import { DOCTOR } from '../../config/defaults.ts';
import { parseSize } from '../../config/units.ts';
import type { Check } from '../types.ts';
import { q, size } from './util.ts';

export const checkLogsLarge: Check = (snapshot) => {
  const limit = parseSize(DOCTOR.large_log);
  const large = snapshot.logFiles.filter((file) => file.sizeBytes >= limit).sort((a, b) => b.sizeBytes - a.sizeBytes);
  if (large.length === 0) return [];
  const total = large.reduce((sum, file) => sum + file.sizeBytes, 0);
  const shown = large.slice(0, 10);
  return [{
    id: 'logs.large',
    severity: 'warning',
    title: `${large.length} log file${large.length === 1 ? '' : 's'} of ${DOCTOR.large_log} or more (${size(total)} in all)`,
    detail: [...shown.map((file) => `${size(file.sizeBytes).padStart(6)}  ${file.path}`), ...(large.length > shown.length ? [`… and ${large.length - shown.length} more`] : [])].join('\n'),
    fix: [
      ...shown.slice(0, 3).map((file) => `truncate -s 0 ${q(file.path)}    # keeps the file open for its writer; or gzip a copy first`),
      'then make sure a logrotate rule covers it (see logrotate.missing), with `size 50M` so it rotates before it grows this big',
    ].join('\n'),
  }];
};
