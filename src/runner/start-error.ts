/**
 * Turns a spawn() failure into one line a human can act on.
 *
 * spawn() reports a missing working directory and a missing command with the same ENOENT, naming only the command
 * ("spawn python9 ENOENT"), which sends people looking for the wrong thing. So the cwd is checked first, and the
 * message keeps Node's text at the front (stable, greppable) and adds what was looked for and where.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

import type { RunSpec } from './types.ts';

export async function describeStartError(err: unknown, spec: RunSpec, file: string): Promise<string> {
  const e = err as NodeJS.ErrnoException;
  const base = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : null;

  const cwdProblem = await checkCwd(spec.cwd);
  if (cwdProblem !== null) return `${base}: working directory ${spec.cwd} ${cwdProblem}`;

  const where = `cwd ${spec.cwd}`;
  if (code === 'ENOENT') {
    if (!file.includes('/')) {
      return `${base}: command '${file}' not found on PATH (${where}, PATH=${spec.env.PATH ?? '(unset)'})`;
    }
    const path = isAbsolute(file) ? file : resolve(spec.cwd, file);
    if (await exists(path)) {
      return `${base}: '${path}' exists but its interpreter (the #! line) was not found (${where})`;
    }
    return `${base}: '${path}' not found (${where})`;
  }
  if (code === 'EACCES') {
    return `${base}: permission denied running '${file}': not executable, or a directory on its path is not searchable (${where})`;
  }
  if (code === 'EPERM' && spec.user !== null) {
    return `${base}: not permitted to switch to uid ${spec.user.uid} / gid ${spec.user.gid}; the daemon must run as root for \`user:\``;
  }
  return `${base} (${where})`;
}

/** null when the cwd is a directory we can enter; else what is wrong with it. */
async function checkCwd(cwd: string): Promise<string | null> {
  try {
    const st = await stat(cwd);
    if (!st.isDirectory()) return 'is not a directory';
    await access(cwd, constants.X_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'ENOTDIR') return 'does not exist (a parent is not a directory)';
    if (code === 'EACCES') return 'is not accessible (permission denied)';
    return `cannot be used (${code ?? String(err)})`;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
