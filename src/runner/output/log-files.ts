/**
 * Where a job's output lives, and what its rotated files are called.
 *
 * `<logsDir>/<job>/<job>.log` is the active file. Rotation is logrotate's classical scheme (rotating-file-stream's
 * `rotate: keep`): `<job>.log.1[.gz]` is the newest rotated file, `<job>.log.<keep>[.gz]` the oldest. Fixed names
 * need no history file, make "oldest" obvious to humans and to max_total, and let the reader go oldest → newest.
 * Both `.N` and `.N.gz` are recognised, so turning `compress` on or off leaves older files readable and counted.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface LogFile {
  path: string;
  /** null for the active file; 1 = newest rotated. */
  index: number | null;
  compressed: boolean;
}

/** Job names become directory and file names; anything that could leave the logs directory is refused. */
export function assertSafeJobName(job: string): void {
  if (job === '' || job === '.' || job === '..' || /[/\\\0]/.test(job)) {
    throw new Error(`job name '${job}' cannot be used as a log directory name (no '/', '\\', NUL, '.' or '..')`);
  }
}

export function jobLogDir(logsDir: string, job: string): string {
  assertSafeJobName(job);
  return join(logsDir, job);
}

export function activeLogPath(logsDir: string, job: string): string {
  return join(jobLogDir(logsDir, job), `${job}.log`);
}

/** Recognises `<job>.log.<N>` and `<job>.log.<N>.gz`. */
export function parseRotatedName(job: string, fileName: string): { index: number; compressed: boolean } | null {
  const prefix = `${job}.log.`;
  if (!fileName.startsWith(prefix)) return null;
  const m = /^([1-9][0-9]*)(\.gz)?$/.exec(fileName.slice(prefix.length));
  if (m === null || m[1] === undefined) return null;
  return { index: Number(m[1]), compressed: m[2] !== undefined };
}

/** The job's log files in reading order: oldest rotated first, the active file last (when it exists). */
export async function listJobLogFiles(logsDir: string, job: string): Promise<LogFile[]> {
  const dir = jobLogDir(logsDir, job);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const rotated: LogFile[] = [];
  for (const name of names) {
    const parsed = parseRotatedName(job, name);
    if (parsed !== null) rotated.push({ path: join(dir, name), ...parsed });
  }
  rotated.sort((a, b) => (b.index ?? 0) - (a.index ?? 0));
  const files = rotated;
  if (names.includes(`${job}.log`)) files.push({ path: join(dir, `${job}.log`), index: null, compressed: false });
  return files;
}

/** Job directories under the logs directory (each named after its job). */
export async function listJobDirs(logsDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(logsDir);
  } catch {
    return [];
  }
  const jobs: string[] = [];
  for (const name of names) {
    try {
      if ((await stat(join(logsDir, name))).isDirectory()) jobs.push(name);
    } catch {
      // removed meanwhile
    }
  }
  return jobs;
}
