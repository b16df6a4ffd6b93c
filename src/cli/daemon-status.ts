/**
 * `nightshift status` without loading the config, when the daemon runs the config file as it is now.
 *
 * Loading the config means zod (whose index loads all 64 of its locales), yaml's composer and the schema: about
 * 80 ms of module loading before any work, against a budget of 150 ms for the whole command (docs/benchmarks.md,
 * section 3). When a daemon answers, the status document is its, built from the config it validated. So this path
 * reads only what it needs to find the daemon — its runtime record (src/status/runtime-record.ts: no parsing at
 * all), or without one the file's `http.listen` through yaml's parser — asks for the document, and uses it only if the daemon says it runs this same file and read it after the file last changed
 * (mtime and ctime, with a margin for the kernel's coarse file clock), and if every `${VAR}` of the file is set here
 * too — so that loading the file here could not have failed where the daemon's load succeeded. Anything else (no
 * daemon, an edited file, another file, a surprise) returns null, and the command loads the config as before.
 */
import { readFileSync, statSync } from 'node:fs';

import { DEFAULTS } from '../config/defaults.ts';
import { interpolate, type Env } from '../config/interpolate.ts';
import { readListen } from '../config/listen.ts';
import { findConfigPath } from '../config/locate.ts';
import type { StatusJson } from '../status/build-status.ts';
import { daemonRoot, processRuntimeEnv, readRuntimeRecord, type RuntimeEnv } from '../status/runtime-record.ts';
// Not backend.ts: it loads node:crypto (for the API token), ~5 ms that this path does not need.
import { httpCall, jsonOf, PROBE_TIMEOUT_MS } from './http-call.ts';

/**
 * File times come from the kernel's coarse clock (a tick behind, up to 10 ms), so a write just after the daemon's
 * read can carry an earlier time. A file changed this close to the daemon's read is treated as changed after it.
 */
const FILE_CLOCK_MARGIN_MS = 1000;

export interface QuickStatusOptions {
  /** `-c FILE`. */
  explicit: string | undefined;
  env: Env;
  cwd: string;
  /** Where to look for the daemon's runtime record (tests); this process' by default. */
  runtime?: RuntimeEnv;
}

export async function quickDaemonStatus(options: QuickStatusOptions): Promise<StatusJson | null> {
  let configPath: string;
  let text: string;
  let changedAt: number;
  try {
    configPath = findConfigPath(options);
    const stat = statSync(configPath);
    changedAt = Math.max(stat.mtimeMs, stat.ctimeMs);
    text = readFileSync(configPath, 'utf8');
    interpolate(text, options.env); // throws for a ${VAR} unset here: then loading the file here fails, as it should
  } catch {
    return null;
  }
  // The daemon's runtime record says where it listens, without parsing the file (src/status/runtime-record.ts).
  const record = readRuntimeRecord(configPath, options.runtime ?? processRuntimeEnv());
  if (record && record.config_file === configPath && readAfterChange(changedAt, record.config_read_at)) {
    const status = await daemonAnswer(record.url, configPath, changedAt);
    if (status && status.daemon?.pid === record.pid) return status;
  }
  // No record (an older daemon, one of another user's, none at all): the file's `http.listen`, as before.
  const listen = await listenOf(text, options.env);
  if (listen === null) return null;
  return daemonAnswer(daemonRoot(listen.host, listen.port), configPath, changedAt);
}

/**
 * The daemon's status document at `root`, if it runs `configPath` and read it after the file last changed (at
 * `changedAt`); else null.
 */
async function daemonAnswer(root: string, configPath: string, changedAt: number): Promise<StatusJson | null> {
  let status: StatusJson | null;
  try {
    const answer = await httpCall(`${root}/api/v1/status`, { timeoutMs: PROBE_TIMEOUT_MS });
    status = answer.ok ? (jsonOf(answer) as StatusJson | null) : null;
  } catch {
    return null; // no daemon there: the command reads the store
  }
  const daemon = status?.daemon;
  if (!daemon || typeof daemon.config_file !== 'string' || typeof daemon.config_read_at !== 'string') return null;
  if (daemon.config_file !== configPath) return null;
  if (!readAfterChange(changedAt, daemon.config_read_at)) return null;
  return status;
}

/** The file, last changed at `changedAt`, was read at `readAt` after that change (with the file clock's margin). */
function readAfterChange(changedAt: number, readAt: string): boolean {
  return changedAt < Date.parse(readAt) - FILE_CLOCK_MARGIN_MS;
}

/**
 * `http.listen` as the file gives it (or its default); null when the file says something unexpected there. yaml is
 * loaded only here, when there is no runtime record to say where the daemon is.
 */
async function listenOf(text: string, env: Env): Promise<{ host: string; port: number } | null> {
  try {
    const { parse } = await import('yaml');
    const doc = parse(text) as { http?: { listen?: unknown } | null } | null;
    const raw = doc?.http?.listen ?? DEFAULTS.http.listen;
    return typeof raw === 'string' ? readListen(interpolate(raw, env)) : null;
  } catch {
    return null;
  }
}
