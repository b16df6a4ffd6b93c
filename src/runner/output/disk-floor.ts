/**
 * The free-disk floor (`logs.min_free_disk`): below it, job output is dropped so that logs can never starve the
 * database or the jobs of space (the "logs filled the disk, then everything died" failure).
 *
 * statfs is asked at most every `checkIntervalMs` and the answer cached: writes happen per chunk of output, and a
 * syscall per write would cost more than the writing. A stale answer starts a refresh in the background; the write
 * that noticed uses the cached one. statfs is injectable so a test can fill the disk.
 */
import { statfs } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

import type { FreeDiskFloor } from '../../config/types.ts';
import { formatBytes, type DropReason } from './drop.ts';

export interface DiskSpace {
  availableBytes: number;
  totalBytes: number;
}

export type StatFs = (path: string) => Promise<DiskSpace>;

/** Space available to unprivileged users (bavail), as df shows it: root's reserved blocks are not ours to fill. */
export const defaultStatFs: StatFs = async (path) => {
  const s = await statfs(path);
  return { availableBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
};

export interface DiskFloorOptions {
  /** The logs directory: the filesystem that is measured. */
  path: string;
  floor: FreeDiskFloor;
  statfs?: StatFs;
  checkIntervalMs?: number;
  /** Called when free space rises back above the floor. */
  onRecovered?: () => void;
}

export const DEFAULT_DISK_CHECK_INTERVAL_MS = 5000;

export class DiskFloorGuard {
  private readonly opts: DiskFloorOptions;
  private readonly statfs: StatFs;
  private readonly intervalMs: number;
  private below: DropReason | null = null;
  private checkedAtMs = -Infinity;
  private inFlight: Promise<void> | null = null;

  constructor(opts: DiskFloorOptions) {
    this.opts = opts;
    this.statfs = opts.statfs ?? defaultStatFs;
    this.intervalMs = opts.checkIntervalMs ?? DEFAULT_DISK_CHECK_INTERVAL_MS;
  }

  /** Why output must be dropped now (below the floor), or null. Cheap: reads the cache, refreshes it when stale. */
  reason(): DropReason | null {
    if (performance.now() - this.checkedAtMs >= this.intervalMs) void this.refresh();
    return this.below;
  }

  /** Asks statfs now (one call at a time). A failing statfs counts as "fine": we do not drop what we cannot measure. */
  refresh(): Promise<void> {
    this.inFlight ??= (async () => {
      try {
        const was = this.below;
        try {
          this.below = describeShortage(this.opts.floor, this.opts.path, await this.statfs(this.opts.path));
        } catch {
          this.below = null;
        }
        this.checkedAtMs = performance.now();
        if (was !== null && this.below === null) this.opts.onRecovered?.();
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}

/** null when free space is at or above the floor; else a reason whose text names floor, path and what is left. */
export function describeShortage(floor: FreeDiskFloor, path: string, space: DiskSpace): DropReason | null {
  if (floor.kind === 'percent') {
    if (space.totalBytes <= 0) return null;
    const freePercent = (space.availableBytes / space.totalBytes) * 100;
    if (freePercent >= floor.percent) return null;
    return {
      key: 'disk',
      text: `free disk below ${floor.percent}% on ${path} (${freePercent.toFixed(1)}% free); free space there or lower logs.min_free_disk`,
    };
  }
  if (space.availableBytes >= floor.bytes) return null;
  return {
    key: 'disk',
    text: `free disk below ${formatBytes(floor.bytes)} on ${path} (${formatBytes(space.availableBytes)} free); free space there or lower logs.min_free_disk`,
  };
}
