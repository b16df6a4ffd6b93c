/**
 * Reading the host's files under an injectable root: `/etc/crontab` is `<root>/etc/crontab`. Every read answers
 * null/[] for a file that is missing or unreadable, because a fact doctor cannot see is unknown, not a problem.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { PathMode } from '../types.ts';

export class HostFs {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The real path of a host path. */
  at(hostPath: string): string {
    return this.root === '/' ? hostPath : join(this.root, hostPath);
  }

  async text(hostPath: string): Promise<string | null> {
    try {
      return await readFile(this.at(hostPath), 'utf8');
    } catch {
      return null;
    }
  }

  async list(hostPath: string): Promise<string[]> {
    try {
      return (await readdir(this.at(hostPath))).sort();
    } catch {
      return [];
    }
  }

  async exists(hostPath: string): Promise<boolean> {
    try {
      await stat(this.at(hostPath));
      return true;
    } catch {
      return false;
    }
  }

  async isDir(hostPath: string): Promise<boolean> {
    try {
      return (await stat(this.at(hostPath))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Mode, owner, and whether group or others can get to it at all: every directory above it (below `/`) must let
   * them through (an x bit for group or others). A 0644 .env inside a 0700 home directory exposes nothing.
   */
  async mode(hostPath: string): Promise<PathMode | null> {
    let info;
    try {
      info = await stat(this.at(hostPath));
    } catch {
      return null;
    }
    let reachable = true;
    for (let dir = posix.dirname(hostPath); dir !== '/' && dir !== '.'; dir = posix.dirname(dir)) {
      try {
        if (((await stat(this.at(dir))).mode & 0o011) === 0) reachable = false;
      } catch {
        reachable = false;
      }
    }
    return { path: hostPath, mode: info.mode & 0o7777, uid: info.uid, reachable };
  }
}

export interface WalkEntry {
  /** Host path. */
  path: string;
  name: string;
  sizeBytes: number;
}

/** Directories never worth descending into when looking for logs and projects. */
const SKIP_DIRS = new Set([
  'node_modules', '.git', '.hg', '.svn', 'venv', '.venv', '__pycache__', 'site-packages', '.cache', '.npm', '.nvm',
  '.pyenv', '.rbenv', '.cargo', '.rustup', '.gradle', '.m2', 'go', 'snap', '.local', 'proc', 'sys', 'journal',
]);

/**
 * Regular files below `hostDir`, at most `maxDepth` levels down and `maxEntries` directory entries looked at in all
 * (bounded cost on a box with a huge tree). Symlinks are not followed.
 */
export async function walkFiles(fs: HostFs, hostDir: string, maxDepth: number, maxEntries: number): Promise<WalkEntry[]> {
  const found: WalkEntry[] = [];
  let budget = maxEntries;
  const visit = async (dir: string, depth: number): Promise<void> => {
    for (const name of await fs.list(dir)) {
      if (--budget < 0) return;
      const path = posix.join(dir, name);
      let info;
      try {
        info = await lstat(fs.at(path));
      } catch {
        continue;
      }
      if (info.isDirectory()) {
        if (depth < maxDepth && !SKIP_DIRS.has(name) && name !== '.nightshift') await visit(path, depth + 1);
      } else if (info.isFile()) {
        found.push({ path, name, sizeBytes: info.size });
      }
    }
  };
  await visit(hostDir, 1);
  return found;
}
