import type { ResolvedConfig } from '../config/types.ts';
import { FINISHED_STATUSES, type Incident, type Ping, type PingKind, type Run } from '../store/types.ts';
import type { StatusJson } from '../status/build-status.ts';
import type { CheckJson } from '../status/check-json.ts';
import { readApiToken } from '../daemon/api-token.ts';
import { CliError, EXIT_FAILED } from './errors.ts';
import { httpCall, jsonOf, PROBE_TIMEOUT_MS, type HttpAnswer } from './http-call.ts';
import { daemonRoot } from '../status/runtime-record.ts';

/**
 * What CLI commands talk to: the daemon's API when it runs, else the store directly (read-only commands and
 * pause/resume, which the daemon reads from the store anyway). Starting a run and recording a ping need the daemon.
 */
export interface Backend {
  readonly kind: 'daemon' | 'store';
  status(): Promise<StatusJson>;
  history(job: string, limit: number): Promise<Run[]>;
  setPaused(job: string, paused: boolean): Promise<void>;
  trigger(job: string): Promise<Run>;
  /** Waits until the run is final (long-polling the daemon), or returns it as it is after `timeoutMs`. */
  waitForRun(runId: string, timeoutMs: number): Promise<Run>;
  /** Newest first: the open incidents, or with `all` every one. */
  incidents(query: { all: boolean; limit: number }): Promise<Incident[]>;
  checks(): Promise<CheckJson[]>;
  /** The check's pings, newest first; null when there is no such check. */
  pings(check: string, limit: number): Promise<Ping[] | null>;
  /** Pings the check by name, as its Healthchecks.io URL would; false when there is no such check. */
  sendPing(check: string, ping: OutgoingPing): Promise<boolean>;
  close(): Promise<void>;
}

/** A ping as `nightshift ping` sends it; `exitCode` only for kind `exit`. */
export interface OutgoingPing {
  kind: PingKind;
  exitCode: number | null;
  rid: string | null;
  /** The first `http.ping_body_limit` bytes of stdin, or null. */
  body: Uint8Array | null;
}

// The daemon's root URL for its `http.listen` (a wildcard address is reached on loopback); the daemon's runtime
// record holds the same.
export { daemonRoot };

export async function connect(config: ResolvedConfig): Promise<Backend> {
  const api = new ApiBackend(config);
  if (await api.isUp()) return api;
  // The store (and SQLite's native module) is loaded only when the daemon does not answer.
  const [{ openStore }, { StoreBackend }] = await Promise.all([import('../store/open.ts'), import('./store-backend.ts')]);
  const store = await openStore(config.store);
  await store.migrate();
  return new StoreBackend(config, store);
}

class ApiBackend implements Backend {
  readonly kind = 'daemon';
  /** The daemon's root URL; the API is under /api/v1, pings under /ping. */
  private readonly root: string;
  private readonly base: string;
  private readonly config: ResolvedConfig;

  constructor(config: ResolvedConfig) {
    this.config = config;
    this.root = daemonRoot(config.http.host, config.http.port);
    this.base = `${this.root}/api/v1`;
  }

  async isUp(): Promise<boolean> {
    try {
      // /healthz is cheap and answers 200 or 503 (unhealthy is still up); a foreign server on the port lacks `ok`.
      const body = jsonOf(await httpCall(`${this.root}/healthz`, { timeoutMs: PROBE_TIMEOUT_MS })) as { ok?: unknown } | null;
      return typeof body?.ok === 'boolean';
    } catch {
      return false;
    }
  }

  status(): Promise<StatusJson> {
    return this.request<StatusJson>('GET', '/status');
  }

  history(job: string, limit: number): Promise<Run[]> {
    return this.request<Run[]>('GET', `/jobs/${encodeURIComponent(job)}/runs?limit=${limit}`);
  }

  async setPaused(job: string, paused: boolean): Promise<void> {
    await this.request('POST', `/jobs/${encodeURIComponent(job)}/${paused ? 'pause' : 'resume'}`);
  }

  async trigger(job: string): Promise<Run> {
    return (await this.request<{ run: Run }>('POST', `/jobs/${encodeURIComponent(job)}/runs?trigger=manual`)).run;
  }

  async waitForRun(runId: string, timeoutMs: number): Promise<Run> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waitMs = Math.max(0, Math.min(55_000, deadline - Date.now()));
      const run = await this.request<Run>('GET', `/runs/${encodeURIComponent(runId)}?wait=${waitMs}`, waitMs + 10_000);
      if (FINISHED_STATUSES.includes(run.status) || Date.now() >= deadline) return run;
    }
  }

  incidents(query: { all: boolean; limit: number }): Promise<Incident[]> {
    return this.request<Incident[]>('GET', `/incidents?limit=${query.limit}${query.all ? '&all=1' : ''}`);
  }

  checks(): Promise<CheckJson[]> {
    return this.request<CheckJson[]>('GET', '/checks');
  }

  pings(check: string, limit: number): Promise<Ping[] | null> {
    // The API serves at most 1000; no check keeps that many (Healthchecks.io's 100).
    return this.request<Ping[]>('GET', `/checks/${encodeURIComponent(check)}/pings?limit=${Math.min(limit, 1000)}`, undefined, true);
  }

  async sendPing(check: string, ping: OutgoingPing): Promise<boolean> {
    const found = await this.request<CheckJson>('GET', `/checks/${encodeURIComponent(check)}`, undefined, true);
    if (!found) return false;
    const action = ping.kind === 'success' ? '' : ping.kind === 'exit' ? `/${ping.exitCode}` : `/${ping.kind}`;
    const url = `${this.root}/ping/${found.uuid}${action}${ping.rid ? `?rid=${encodeURIComponent(ping.rid)}` : ''}`;
    let response: HttpAnswer;
    try {
      response = await httpCall(url, { method: 'POST', body: ping.body, timeoutMs: 15_000 });
    } catch (error) {
      throw new CliError(`the daemon at ${this.root} did not answer the ping (${(error as Error).message}); is it running? (nightshift up)`);
    }
    const text = response.text.trim();
    if (!response.ok) throw new CliError(`the daemon did not record the ping to ${check}: HTTP ${response.status} ${text}`, EXIT_FAILED);
    return true;
  }

  async close(): Promise<void> {}

  /** `orNullOn404`: a 404 for an unknown thing (a check …) resolves null instead of failing. */
  private async request<T>(method: string, path: string, timeoutMs?: number): Promise<T>;
  private async request<T>(method: string, path: string, timeoutMs: number | undefined, orNullOn404: true): Promise<T | null>;
  private async request<T>(method: string, path: string, timeoutMs = 15_000, orNullOn404 = false): Promise<T | null> {
    const headers: Record<string, string> = {};
    // Reads need it too when the daemon listens beyond loopback.
    const token = await readApiToken(this.config.stateDir, this.config.http.token);
    if (token) headers.authorization = `Bearer ${token}`;
    let response: HttpAnswer;
    try {
      response = await httpCall(this.base + path, { method, headers, timeoutMs });
    } catch (error) {
      throw new CliError(`the daemon at ${this.base} did not answer (${(error as Error).message}); is it running? (nightshift up)`);
    }
    const body = jsonOf(response) as { error?: { code?: string; message?: string } } | null;
    // A route the daemon lacks (an older version) is `not_found`, and stays an error.
    if (response.status === 404 && orNullOn404 && body?.error?.code !== 'not_found') return null;
    if (!response.ok) {
      const message = body?.error?.message ?? `HTTP ${response.status}`;
      throw new CliError(`the daemon refused: ${message}`, EXIT_FAILED);
    }
    return body as unknown as T;
  }
}
