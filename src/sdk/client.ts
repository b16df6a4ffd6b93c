/**
 * How job code reaches the daemon. Inside a run everything is in the run's environment (DESIGN.md): NIGHTSHIFT_URL and
 * NIGHTSHIFT_RUN_TOKEN, which lets the run act as itself and only itself. Outside a run (a worker started by hand, a
 * script) NIGHTSHIFT_URL and NIGHTSHIFT_TOKEN, the API token. This module is the SDK's only door to the network, so
 * every call shares one timeout, one error type and one way of naming what to fix.
 */

/** Long enough for a daemon on a loaded 1-CPU box; a daemon that is not there refuses at once. */
const DEFAULT_TIMEOUT_MS = 10_000;

export interface DaemonAddress {
  /** The daemon's base URL, without a trailing slash. */
  url: string;
  /** The run's own token inside a run, else the API token; '' when neither is set (reading needs none). */
  token: string;
  /** The run this process is, or null outside a run. */
  runId: string | null;
}

/** A call the daemon refused or could not answer. `status` is the HTTP status (0: no answer), `code` its error code. */
export class NightshiftError extends Error {
  override name = 'NightshiftError';
  readonly status: number;
  readonly code: string;
  constructor(message: string, status: number, code: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A write that named a version that is no longer current (state.set with a stale `version`). */
export class ConflictError extends NightshiftError {
  override name = 'ConflictError';
}

/** Where the daemon is, from the environment; a clear error naming the variable when it is not there. */
export function daemonFromEnv(env: NodeJS.ProcessEnv = process.env): DaemonAddress {
  const url = (env.NIGHTSHIFT_URL ?? '').replace(/\/+$/, '');
  if (url === '') {
    throw new NightshiftError(
      'NIGHTSHIFT_URL is not set: inside a run nightshift sets it; outside one, set it to the daemon (e.g. http://127.0.0.1:8377)',
      0,
      'no_daemon',
    );
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new NightshiftError(`NIGHTSHIFT_URL is not an http(s) URL: ${url}`, 0, 'no_daemon');
  }
  const runId = env.NIGHTSHIFT_RUN_ID || null;
  const token = (runId !== null ? env.NIGHTSHIFT_RUN_TOKEN : undefined) || env.NIGHTSHIFT_TOKEN || '';
  return { url, token, runId };
}

export interface CallOptions {
  /** JSON body for POST/PUT; omitted → no body. */
  body?: unknown;
  /** Milliseconds before the call is abandoned (default 10 s). A long-poll passes its own. */
  timeoutMs?: number;
  /** Statuses answered with null instead of an error (e.g. 404 for "no such key"). */
  nullOn?: number[];
  /** Abandons the call early (a worker stopping mid long-poll); it then fails with code `aborted`. */
  signal?: AbortSignal;
}

/**
 * One request to the daemon's `/api/v1`. Returns the parsed JSON answer. A refusal becomes a NightshiftError carrying
 * the daemon's own message (it names the fix); a 409 `conflict` becomes a ConflictError.
 */
export async function call<T>(daemon: DaemonAddress, method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (daemon.token !== '') headers.authorization = `Bearer ${daemon.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const target = `${daemon.url}/api/v1${path}`;
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)])
        : AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    if (options.signal?.aborted) throw new NightshiftError(`${method} ${path} was abandoned`, 0, 'aborted');
    const why = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new NightshiftError(`no answer from the nightshift daemon at ${daemon.url} (${why}); is \`nightshift up\` running?`, 0, 'unreachable');
  }
  const text = await response.text();
  const parsed = text === '' ? null : safeJson(text);
  if (response.ok) return parsed as T;
  if (options.nullOn?.includes(response.status)) return null as T;
  const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
  const message = error?.message ?? `${method} ${path} answered ${response.status}`;
  const code = error?.code ?? `http_${response.status}`;
  if (response.status === 409 && code === 'conflict') throw new ConflictError(message, response.status, code);
  throw new NightshiftError(message, response.status, code);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 500) } };
  }
}

/** Turns a duration given as milliseconds or as a string ('30s', '2m') into what the API accepts (the string form). */
export function durationArg(value: string | number): string {
  return typeof value === 'number' ? `${Math.round(value)}ms` : value;
}

/** The run this process is; an error naming why when called outside a run. */
export function ownRun(daemon: DaemonAddress, what: string): string {
  if (daemon.runId === null) {
    throw new NightshiftError(`${what} only works inside a run started by nightshift (NIGHTSHIFT_RUN_ID is not set)`, 0, 'not_in_run');
  }
  return daemon.runId;
}
