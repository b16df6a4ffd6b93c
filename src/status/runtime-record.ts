/**
 * The daemon's runtime record: where a running daemon can be reached, for `nightshift status` to find it without
 * reading the config (docs/benchmarks.md, "`nightshift status`": parsing the file for `http.listen` loaded yaml's 72
 * modules, ~17 ms of a 150 ms budget).
 *
 * Once listening, the daemon writes `{ url, pid, config_file, config_read_at }` to a file named after the config
 * file's real path, in a runtime directory of its user's (`$XDG_RUNTIME_DIR/nightshift/`, else `/run/nightshift/`
 * for root, else `<tmpdir>/nightshift-<uid>/`; mode 0700), rewrites it after a reload and removes it at stop. It
 * holds no secret (the API token stays in the state directory). A reader trusts a record only in a directory and a
 * file owned by its own user that no other user can write, and only while the pid is alive; even then the record
 * only says where to ask: the caller checks the daemon's answer as it did before (src/cli/daemon-status.ts).
 */
import { lstatSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Logger } from '../util/logger.ts';

export interface RuntimeRecord {
  /** The daemon's root URL, reachable from this host (a wildcard listen address is given as loopback). */
  url: string;
  pid: number;
  /** The config file the daemon runs, as it names it (DaemonInfo.config_file). */
  config_file: string;
  /** DaemonInfo.config_read_at when the record was written. */
  config_read_at: string;
}

export interface RuntimeEnv {
  env: Readonly<Record<string, string | undefined>>;
  /** The user's id; undefined where there is none (not POSIX): then there are no records. */
  uid: number | undefined;
  tmpdir: string;
}

export function processRuntimeEnv(): RuntimeEnv {
  return { env: process.env, uid: process.getuid?.(), tmpdir: tmpdir() };
}

/** The daemon's root URL for a listen address: a wildcard address is reached on loopback. */
export function daemonRoot(listenHost: string, port: number): string {
  const host = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '::' ? '::1' : listenHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Where the records may be, the one a daemon writes to first; empty without a uid. */
export function runtimeDirs(rt: RuntimeEnv): string[] {
  if (rt.uid === undefined) return [];
  const dirs: string[] = [];
  const xdg = rt.env['XDG_RUNTIME_DIR'];
  if (xdg && isAbsolute(xdg)) dirs.push(join(xdg, 'nightshift'));
  dirs.push(rt.uid === 0 ? '/run/nightshift' : join(rt.tmpdir, `nightshift-${rt.uid}`));
  return dirs;
}

/**
 * The record's file name for a config file: a hash of its real path (any length, any characters). FNV-1a, 64 bits,
 * not a cryptographic hash: loading node:crypto costs `status` ~5 ms, and nothing rests on the name — only this
 * user can write the directory, and a record is used only when the daemon it leads to says it runs this very file.
 */
function recordName(configFile: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(realpathSync(configFile))) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return `${hash.toString(16).padStart(16, '0')}.json`;
}

/** Owned by `uid` and writable by no one else; a directory or a regular file as asked (a symlink is neither). */
function ownedPrivately(stat: Stats, uid: number, kind: 'dir' | 'file'): boolean {
  return (kind === 'dir' ? stat.isDirectory() : stat.isFile()) && stat.uid === uid && (stat.mode & 0o022) === 0;
}

/** A signal 0 reaches it (EPERM: it exists, as another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The record of a live daemon for `configFile`, or null: none, not ours, unreadable, malformed, or its pid is gone
 * (a daemon that was killed leaves its record behind: it is ignored, and replaced by the next daemon's).
 */
export function readRuntimeRecord(configFile: string, rt: RuntimeEnv): RuntimeRecord | null {
  if (rt.uid === undefined) return null;
  let name: string;
  try {
    name = recordName(configFile);
  } catch {
    return null;
  }
  for (const dir of runtimeDirs(rt)) {
    try {
      const file = join(dir, name);
      if (!ownedPrivately(lstatSync(dir), rt.uid, 'dir') || !ownedPrivately(lstatSync(file), rt.uid, 'file')) continue;
      const record = parseRecord(readFileSync(file, 'utf8'));
      if (record && alive(record.pid)) return record;
    } catch {
      // not there, or not readable: the next directory
    }
  }
  return null;
}

function parseRecord(text: string): RuntimeRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const r = value as Partial<RuntimeRecord> | null;
  if (typeof r !== 'object' || r === null) return null;
  if (typeof r.url !== 'string' || !/^http:\/\//.test(r.url)) return null;
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid) || r.pid <= 0) return null;
  if (typeof r.config_file !== 'string' || typeof r.config_read_at !== 'string') return null;
  return { url: r.url, pid: r.pid, config_file: r.config_file, config_read_at: r.config_read_at };
}

/**
 * Writes the record (whole, by rename) to the first runtime directory, creating it 0700; returns its path. Throws
 * when there is no usable directory — one that exists but is another user's, or open to others, is not used.
 */
export async function writeRuntimeRecord(record: RuntimeRecord, rt: RuntimeEnv): Promise<string> {
  const dir = runtimeDirs(rt)[0];
  if (dir === undefined || rt.uid === undefined) throw new Error('no runtime directory on this platform');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!ownedPrivately(lstatSync(dir), rt.uid, 'dir')) {
    throw new Error(`${dir} is not a directory of this user's that only it can write to`);
  }
  const file = join(dir, recordName(record.config_file));
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  return file;
}

/** Removes the record at `file` if it is still `pid`'s (a later daemon's is left alone). */
export async function removeRuntimeRecord(file: string, pid: number): Promise<void> {
  try {
    if (parseRecord(await readFile(file, 'utf8'))?.pid !== pid) return;
    await unlink(file);
  } catch {
    // already gone
  }
}

/** writeRuntimeRecord for the daemon: a failure costs `status` only speed, so it is logged and null is returned. */
export async function tryWriteRuntimeRecord(record: RuntimeRecord, logger: Logger): Promise<string | null> {
  try {
    return await writeRuntimeRecord(record, processRuntimeEnv());
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    logger.warn({ err: error }, `no runtime record for \`nightshift status\` (it will read the config instead): ${why}`);
    return null;
  }
}
