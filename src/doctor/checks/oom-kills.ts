/**
 * memory.oom_kills (warning): the kernel's OOM killer has killed processes since boot (/proc/vmstat oom_kill) or in
 * the last week's kernel log. Seed 003: a deploy ran two app containers plus a stray one on a 2 GB box and the kernel
 * killed the web container; nothing but the kernel log said why.
 */
import type { Check } from '../types.ts';

export const checkOomKills: Check = (snapshot) => {
  const oom = snapshot.oom;
  if (oom === null) return [];
  const count = oom.killsSinceBoot ?? oom.lines.length;
  if (count === 0 && oom.lines.length === 0) return [];
  const seen = [
    oom.killsSinceBoot !== null ? `${oom.killsSinceBoot} process${oom.killsSinceBoot === 1 ? '' : 'es'} killed by the OOM killer since boot (/proc/vmstat oom_kill)` : null,
    ...oom.lines.map((line) => `kernel: ${line.trim()}`),
  ].filter((line): line is string => line !== null);
  return [{
    id: 'memory.oom_kills',
    severity: 'warning',
    title: 'the kernel has been killing processes for want of memory',
    detail: seen.join('\n'),
    fix: [
      'see every kill:  journalctl -k --no-pager | grep -i "killed process"',
      'add swap if there is none (swap.none), and cap what grew:  jobs.<name>.memory: 512M',
      'hold runs back while memory is short:  limits: { min_available_memory: 200M }',
      'before a deploy, gate on room for it:  nightshift doctor --fail-on warning --min-available-memory 1G',
    ].join('\n'),
  }];
};
