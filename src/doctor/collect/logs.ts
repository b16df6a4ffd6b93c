/**
 * Log files: every file under /var/log (the journal is measured on its own), Docker containers' json-file logs, and
 * application logs (`*.log`, with
 * their rotated copies) under the places projects live — /opt, /srv, /var/www, /home, /root — and, with a config,
 * the jobs' directories. nightshift's own state directories are left out: nightshift rotates what it writes.
 */
import { posix } from 'node:path';
import type { FileFact } from '../types.ts';
import { walkFiles, type HostFs } from './host-fs.ts';

export const APP_LOG_ROOTS = ['/opt', '/srv', '/var/www', '/home', '/root'];
/**
 * Login records indexed by uid: sparse files whose apparent size can be hundreds of GB (a uid of 4294967294) while
 * they take a few KB. Not logs anyone rotates.
 */
const SPARSE_RECORDS = new Set(['lastlog', 'faillog', 'tallylog']);
/** Files below this are not kept as facts: no log check cares about a 100 KB file's size. */
const KEEP_SIZE_BYTES = 1024 * 1024;

export interface LogScan {
  logFiles: FileFact[];
  appLogs: FileFact[];
}

export async function collectLogs(fs: HostFs, extraRoots: string[], maxEntries: number): Promise<LogScan> {
  const logFiles = new Map<string, FileFact>();
  const appLogs = new Map<string, FileFact>();
  for (const entry of await walkFiles(fs, '/var/log', 4, maxEntries)) {
    if (SPARSE_RECORDS.has(entry.name)) continue;
    if (entry.sizeBytes >= KEEP_SIZE_BYTES) logFiles.set(entry.path, { path: entry.path, sizeBytes: entry.sizeBytes });
  }
  // Containers' stdout under the json-file driver: unbounded unless daemon.json caps it (docker.logs_unbounded).
  for (const entry of await walkFiles(fs, '/var/lib/docker/containers', 2, maxEntries)) {
    if (entry.name.endsWith('-json.log') && entry.sizeBytes >= KEEP_SIZE_BYTES) logFiles.set(entry.path, { path: entry.path, sizeBytes: entry.sizeBytes });
  }
  const roots = [...new Set([...APP_LOG_ROOTS, ...extraRoots])].filter((root) => !APP_LOG_ROOTS.some((r) => root !== r && root.startsWith(`${r}/`)));
  for (const root of roots) {
    for (const entry of await walkFiles(fs, root, 5, maxEntries)) {
      if (!/\.log(\.\d+)?(\.gz|\.xz|\.bz2|\.zst)?$|\.log-\d{8}/.test(entry.name)) continue;
      const fact = { path: entry.path, sizeBytes: entry.sizeBytes };
      if (entry.sizeBytes >= KEEP_SIZE_BYTES) logFiles.set(entry.path, fact);
      if (entry.name.endsWith('.log')) appLogs.set(entry.path, fact);
    }
  }
  const byPath = (a: FileFact, b: FileFact) => a.path.localeCompare(b.path);
  return { logFiles: [...logFiles.values()].sort(byPath), appLogs: [...appLogs.values()].sort(byPath) };
}

/** The directory of each path, for grouping findings. */
export function dirOf(path: string): string {
  return posix.dirname(path);
}
