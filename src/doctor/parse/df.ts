/**
 * `df -l -B1 --output=target,fstype,size,avail,itotal,iavail`: every local mount's space and inodes. Only
 * filesystems that hold data the box needs are kept: not pseudo filesystems, not read-only images (a snap's squashfs
 * is always 100% full), not Docker's per-container overlays (they repeat the disk under them).
 */
import type { MountUsage } from '../types.ts';

const SKIPPED_TYPES = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'squashfs', 'iso9660', 'overlay', 'nsfs', 'tracefs',
  'debugfs', 'securityfs', 'pstore', 'bpf', 'autofs', 'mqueue', 'hugetlbfs', 'fusectl', 'configfs', 'efivarfs', 'ramfs',
  'binfmt_misc', 'fuse.lxcfs', 'fuse.snapfuse', 'udev', 'none',
]);
/** tmpfs matters only where programs write: elsewhere it is a few KB of config that is full by design. */
const TMPFS_KEPT = new Set(['/tmp', '/run', '/dev/shm', '/var/tmp']);
const SKIPPED_UNDER = ['/var/lib/docker/', '/run/docker/', '/snap/', '/var/snap/', '/proc/', '/sys/', '/run/user/'];

export function parseDf(text: string): MountUsage[] {
  const mounts: MountUsage[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    // The mount point may contain spaces: the five numeric columns are the last ones.
    const [fsType, size, avail, inodes, inodesFree] = fields.slice(-5);
    const mountPoint = fields.slice(0, -5).join(' ');
    const numbers = [size, avail, inodes, inodesFree].map((n) => (n === '-' ? 0 : Number(n)));
    if (!numbers.every(Number.isFinite) || !mountPoint.startsWith('/')) continue;
    if (SKIPPED_TYPES.has(fsType!) || (fsType === 'tmpfs' && !TMPFS_KEPT.has(mountPoint))) continue;
    if (SKIPPED_UNDER.some((prefix) => `${mountPoint}/`.startsWith(prefix)) || numbers[0] === 0 || seen.has(mountPoint)) continue;
    seen.add(mountPoint);
    const [sizeBytes, availBytes, inodeCount, inodesFreeCount] = numbers as [number, number, number, number];
    mounts.push({ mountPoint, fsType: fsType!, sizeBytes, availBytes, inodes: inodeCount, inodesFree: inodesFreeCount });
  }
  return mounts;
}
