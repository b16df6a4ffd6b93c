/**
 * Writes a generated file (a unit, a logrotate rule) without clobbering one a person edited: the same content is left
 * alone, different content is replaced only when asked (`--force`). The write goes through a temporary file and a
 * rename, so systemd or logrotate never reads half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type WriteOutcome = 'created' | 'updated' | 'unchanged';

export class ExistingFileError extends Error {
  readonly path: string;

  constructor(path: string) {
    super(`${path} already exists with other content`);
    this.name = 'ExistingFileError';
    this.path = path;
  }
}

export async function writeGenerated(path: string, text: string, options: { force: boolean; mode: number }): Promise<WriteOutcome> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (existing === text) return 'unchanged';
  if (existing !== null && !options.force) throw new ExistingFileError(path);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.nightshift-${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: options.mode });
  await rename(temporary, path);
  return existing === null ? 'created' : 'updated';
}
