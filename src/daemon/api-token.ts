import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const API_TOKEN_FILE = 'api-token';

/**
 * The API token when the config sets none: generated once into `<state_dir>/api-token` with mode 0600, so only the
 * user the daemon runs as (and root) can change state through the API — the way Docker's socket is guarded. The CLI
 * reads the same file.
 */
export async function ensureApiToken(stateDir: string, configured: string | null): Promise<string> {
  if (configured) return configured;
  const existing = await readApiToken(stateDir, null);
  if (existing) return existing;
  const token = randomBytes(24).toString('base64url');
  try {
    await writeFile(join(stateDir, API_TOKEN_FILE), `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    // Another process created it between our read and write: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readApiToken(stateDir, null)) ?? token;
    throw error;
  }
}

/** The token the CLI presents: the configured one, else the daemon's generated file, else null. */
export async function readApiToken(stateDir: string, configured: string | null): Promise<string | null> {
  if (configured) return configured;
  try {
    const token = (await readFile(join(stateDir, API_TOKEN_FILE), 'utf8')).trim();
    return token || null;
  } catch {
    return null;
  }
}
