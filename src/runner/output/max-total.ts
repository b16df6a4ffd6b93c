/**
 * `logs.max_total`: a cap on the size of all jobs' logs together. Per-job `keep` bounds each job, but twenty jobs
 * times fourteen files can still fill a small disk; this is the global backstop.
 *
 * The total counts every job's active and rotated files (that is what takes disk space), but only rotated files are
 * deleted, oldest first (by modification time) across all jobs: the active file is being written and holds the
 * newest output, which is what someone debugging a failure reads first.
 */
import { unlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';

import { listJobDirs, listJobLogFiles, type LogFile } from './log-files.ts';

export interface MaxTotalResult {
  /** Bytes of all job logs after deleting. */
  totalBytes: number;
  /** Paths deleted, oldest first. */
  deleted: string[];
}

interface SizedFile extends LogFile {
  job: string;
  size: number;
  mtimeMs: number;
}

/**
 * Deletes the oldest rotated files until the total is at most `maxTotalBytes` (≤ 0 or Infinity = no cap).
 * `isRotating(job)` protects a job whose rotation is renaming files right now; its files wait for the next check,
 * which every rotation triggers anyway.
 */
export async function enforceMaxTotal(
  logsDir: string,
  maxTotalBytes: number,
  isRotating: (job: string) => boolean = () => false,
): Promise<MaxTotalResult> {
  const files: SizedFile[] = [];
  for (const job of await listJobDirs(logsDir)) {
    let list: LogFile[];
    try {
      list = await listJobLogFiles(logsDir, job);
    } catch {
      continue; // not a valid job directory name
    }
    for (const file of list) {
      try {
        const st = await stat(file.path);
        files.push({ ...file, job, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // rotated away meanwhile
      }
    }
  }
  let totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const deleted: string[] = [];
  if (!(maxTotalBytes > 0) || !Number.isFinite(maxTotalBytes) || totalBytes <= maxTotalBytes) {
    return { totalBytes, deleted };
  }

  const rotated = files
    .filter((f) => f.index !== null)
    .sort((a, b) => a.mtimeMs - b.mtimeMs || (b.index ?? 0) - (a.index ?? 0));
  for (const file of rotated) {
    if (totalBytes <= maxTotalBytes) break;
    // Checked right before a synchronous unlink: no rotation of this job can start in between.
    if (isRotating(file.job)) continue;
    try {
      unlinkSync(file.path);
      totalBytes -= file.size;
      deleted.push(file.path);
    } catch {
      // gone already, or not ours to delete
    }
  }
  return { totalBytes, deleted };
}
