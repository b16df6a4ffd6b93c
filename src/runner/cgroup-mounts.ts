/** Reading /proc/self/mountinfo and /proc/self/cgroup: where the cgroup2 hierarchy is, and where this process sits in it. */

import { join } from 'node:path';

export interface Cgroup2Mount {
  /** Where it is mounted, e.g. /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid). */
  mountPoint: string;
  /** The cgroup shown at the mount point (mountinfo field 4); `/` unless a sub-tree was bind-mounted. */
  root: string;
}

/** The cgroup2 mounts listed in a mountinfo file (proc(5)); fstype is the first field after the ` - ` separator. */
export function parseCgroup2Mounts(mountinfo: string): Cgroup2Mount[] {
  const mounts: Cgroup2Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const fields = line.slice(0, sep).split(' ');
    const fstype = line.slice(sep + 3).split(' ')[0];
    const root = fields[3];
    const mountPoint = fields[4];
    if (fstype === 'cgroup2' && root !== undefined && mountPoint !== undefined) {
      mounts.push({ root: unescapeMountField(root), mountPoint: unescapeMountField(mountPoint) });
    }
  }
  return mounts;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes (`\040`). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The process's cgroup v2 path from a /proc/PID/cgroup file (the `0::` line); null on a v1-only host. */
export function parseOwnCgroup(content: string): string | null {
  for (const line of content.split('\n')) {
    if (line.startsWith('0::')) {
      const path = line.slice(3).trim();
      return path.startsWith('/') ? path : null;
    }
  }
  return null;
}

/** The directory of cgroup `own` in the first mount that shows it; null when no mount does. */
export function cgroupDirOf(mounts: Cgroup2Mount[], own: string): string | null {
  for (const { mountPoint, root } of mounts) {
    const rel = root === '/' ? own : own === root || own.startsWith(`${root}/`) ? own.slice(root.length) : null;
    if (rel !== null) return join(mountPoint, rel).replace(/(.)\/+$/, '$1'); // no trailing slash for own = /
  }
  return null;
}
