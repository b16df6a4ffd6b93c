/** Parsers for the answers of ufw, docker, timedatectl and journalctl, and UFW's own config files. */
import { parseSize } from '../../config/units.ts';
import type { DockerFacts, TimeFacts } from '../types.ts';

/** `KEY=value` lines (shell-style files such as /etc/default/ufw, and `timedatectl show`); quotes stripped. */
export function parseKeyValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!.trim().replace(/^(["'])(.*)\1$/, '$2'));
  }
  return values;
}

/** `ufw status verbose`: whether it is active and the incoming default (`deny` → DROP, `reject` → REJECT). */
export function parseUfwStatus(text: string): { active: boolean; inputPolicy: string | null } | null {
  const status = /^Status:\s*(\w+)/m.exec(text)?.[1];
  if (status === undefined) return null;
  const incoming = /^Default:.*?\b(deny|reject|allow)\s*\(incoming\)/m.exec(text)?.[1];
  const policy = incoming === undefined ? null : ({ deny: 'DROP', reject: 'REJECT', allow: 'ACCEPT' } as const)[incoming as 'deny' | 'reject' | 'allow'];
  return { active: status === 'active', inputPolicy: policy };
}

/** `docker ps --format '{{.Names}}\t{{.Ports}}'`. */
export function parseDockerPs(text: string): DockerFacts['containers'] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [name = '', ports = ''] = line.split('\t');
      return { name: name.trim(), ports: ports.trim() };
    });
}

/** `timedatectl show`. */
export function parseTimedatectl(text: string): TimeFacts | null {
  const values = parseKeyValues(text);
  const synced = values.get('NTPSynchronized');
  if (synced === undefined) return null;
  const ntp = values.get('NTP');
  return { synchronized: synced === 'yes', ntpEnabled: ntp === undefined ? null : ntp === 'yes' };
}

/** `journalctl --disk-usage`: "Archived and active journals take up 3.9G in the file system." */
export function parseJournalDiskUsage(text: string): number | null {
  const match = /take up ([\d.]+\s*[KMGT]?)B?\b/i.exec(text);
  if (!match) return null;
  try {
    return parseSize(match[1]!.replace(/\s+/g, ''));
  } catch {
    return null;
  }
}

/**
 * Kernel log lines that record an OOM kill. Every kernel writes `Killed process PID (name)` once per kill (newer ones
 * as `Out of memory: Killed process …`, cgroup kills as `Memory cgroup out of memory: Killed process …`).
 */
export function oomLines(text: string): string[] {
  return text.split('\n').filter((line) => /Killed process \d+ \(/.test(line));
}
