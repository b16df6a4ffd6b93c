/**
 * logrotate.missing (warning): application logs (`*.log` outside /var/log) that no logrotate rule covers. Seed 000:
 * "We had no /etc/logrotate.d/ entry for the project" — and the logs filled the disk. One finding lists every
 * directory; the fix is the rule to drop into /etc/logrotate.d/.
 */
import { posix } from 'node:path';
import { globMatches } from '../parse/logrotate.ts';
import type { Check, FileFact } from '../types.ts';
import { size } from './util.ts';

export const checkLogrotateMissing: Check = (snapshot) => {
  const patterns = snapshot.logrotate.patterns;
  const uncovered = snapshot.appLogs.filter((log) => !patterns.some((pattern) => globMatches(pattern, log.path)));
  if (uncovered.length === 0) return [];
  const byDir = new Map<string, FileFact[]>();
  for (const log of uncovered) byDir.set(posix.dirname(log.path), [...(byDir.get(posix.dirname(log.path)) ?? []), log]);
  const detail = [...byDir].map(([dir, logs]) => `${dir}: ${logs.map((log) => `${posix.basename(log.path)} (${size(log.sizeBytes)})`).join(', ')}`);
  const rules = [...byDir.keys()].map((dir) => {
    const name = projectName(dir);
    return [
      `cat > /etc/logrotate.d/${name} <<'EOF'`,
      `${dir}/*.log {`,
      '  daily',
      '  rotate 14',
      '  size 50M',
      '  compress',
      '  delaycompress',
      '  missingok',
      '  notifempty',
      '  copytruncate',
      '}',
      'EOF',
    ].join('\n');
  });
  const install = snapshot.logrotate.installed ? [] : ['apt-get install -y logrotate    # (dnf install logrotate on Red Hat family)'];
  return [{
    id: 'logrotate.missing',
    severity: 'warning',
    title: `${uncovered.length} application log${uncovered.length === 1 ? '' : 's'} with no logrotate rule`,
    detail: detail.join('\n'),
    fix: [
      ...install,
      ...rules,
      `logrotate --debug /etc/logrotate.d/${projectName([...byDir.keys()][0]!)}    # dry run: shows what would rotate`,
      'or run the job under nightshift, which captures and rotates its output itself (jobs.<name>.logs)',
    ].join('\n'),
  }];
};

/** `/opt/ai-pipeline/logs` → `ai-pipeline`: the project directory's name, for the rule's file name. */
function projectName(dir: string): string {
  const parts = dir.split('/').filter(Boolean);
  const skip = parts[0] === 'home' ? 2 : parts[0] === 'var' && parts[1] === 'www' ? 2 : 1;
  const name = parts[skip] ?? parts[parts.length - 1] ?? 'app';
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}
