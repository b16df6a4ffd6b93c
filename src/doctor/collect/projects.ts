/**
 * Project directories and their env files. Without a config, a project is a directory holding a `.env` directly
 * under /opt, /srv, /var/www, /root, or a home directory (/home/USER/PROJECT); with one, the config's directory and
 * every job's cwd are projects too, and every job's env_file is checked.
 */
import { posix } from 'node:path';
import type { PathMode } from '../types.ts';
import type { HostFs } from './host-fs.ts';

/** `.env`, `.env.production`, …: files holding secrets. Templates (`.env.example`) hold none. */
const ENV_FILE = /^\.env(\.(?!example$|sample$|template$|dist$|defaults$)[\w-]+)?$/;

export async function collectProjects(fs: HostFs, configured: { dirs: string[]; envFiles: string[] }): Promise<{ projectDirs: PathMode[]; envFiles: PathMode[] }> {
  const candidates = new Set<string>(configured.dirs);
  for (const base of ['/opt', '/srv', '/var/www', '/root']) for (const name of await fs.list(base)) candidates.add(posix.join(base, name));
  for (const home of await fs.list('/home')) for (const name of await fs.list(posix.join('/home', home))) candidates.add(posix.join('/home', home, name));

  const envPaths = new Set<string>(configured.envFiles);
  const projectDirs = new Map<string, PathMode>();
  for (const dir of candidates) {
    if (!(await fs.isDir(dir))) continue;
    const envs = (await fs.list(dir)).filter((name) => ENV_FILE.test(name));
    if (envs.length === 0 && !configured.dirs.includes(dir)) continue;
    const mode = await fs.mode(dir);
    if (mode) projectDirs.set(dir, mode);
    for (const name of envs) envPaths.add(posix.join(dir, name));
  }
  const envFiles: PathMode[] = [];
  for (const path of envPaths) {
    const mode = await fs.mode(path);
    if (mode) envFiles.push(mode);
  }
  const byPath = (a: PathMode, b: PathMode) => a.path.localeCompare(b.path);
  return { projectDirs: [...projectDirs.values()].sort(byPath), envFiles: envFiles.sort(byPath) };
}
