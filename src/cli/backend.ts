import type { ResolvedConfig } from '../config/types.ts';
import { FINISHED_STATUSES, type Run, type Store } from '../store/types.ts';
import type { StatusJson } from '../status/build-status.ts';
import { readApiToken } from '../daemon/api-token.ts';
import { CliError, EXIT_FAILED } from './errors.ts';

/**
 * What CLI commands talk to: the daemon's API when it runs, else the store directly (read-only commands and
 * pause/resume, which the daemon reads from the store anyway). Starting a run needs the daemon.
 */
export interface Backend {
  readonly kind: 'daemon' | 'store';
  status(): Promise<StatusJson>;
  history(job: string, limit: number): Promise<Run[]>;
  setPaused(job: string, paused: boolean): Promise<void>;
  trigger(job: string): Promise<Run>;
  /** Waits until the run is final (long-polling the daemon), or returns it as it is after `timeoutMs`. */
  waitForRun(runId: string, timeoutMs: number): Promise<Run>;
  close(): Promise<void>;
}

/**
 * How long the CLI waits for the daemon to answer before deciding it is not running. A daemon that is not there
 * refuses the connection at once; this only bounds a daemon that is there but slow (a loaded 1-CPU box), which must
 * not be mistaken for an absent one.
 */
const PROBE_TIMEOUT_MS = 10_000;

export async function connect(config: ResolvedConfig): Promise<Backend> {
  const api = new ApiBackend(config);
  if (await api.isUp()) return api;
  // The store (and SQLite's native module) is loaded only when the daemon does not answer.
  const { openStore } = await import('../store/open.ts');
  const store = await openStore(config.store);
  await store.migrate();
  return new StoreBackend(config, store);
}

class ApiBackend implements Backend {
  readonly kind = 'daemon';
  private readonly base: string;
  private readonly config: ResolvedConfig;

  constructor(config: ResolvedConfig) {
    this.config = config;
    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host === '::' ? '::1' : config.http.host;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/api/v1`;
  }

  async isUp(): Promise<boolean> {
    try {
      // /healthz is cheap and answers 200 or 503 (unhealthy is still up); a foreign server on the port lacks `ok`.
      const root = this.base.slice(0, -'/api/v1'.length);
      const response = await fetch(`${root}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const body = (await response.json()) as { ok?: unknown };
      return typeof body.ok === 'boolean';
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

  async close(): Promise<void> {}

  private async request<T>(method: string, path: string, timeoutMs = 15_000): Promise<T> {
    const headers: Record<string, string> = {};
    if (method !== 'GET') {
      const token = await readApiToken(this.config.stateDir, this.config.http.token);
      if (token) headers.authorization = `Bearer ${token}`;
    }
    let response: Response;
    try {
      response = await fetch(this.base + path, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new CliError(`the daemon at ${this.base} did not answer (${(error as Error).message}); is it running? (nightshift up)`);
    }
    const body = (await response.json().catch(() => null)) as unknown;
    if (!response.ok) {
      const message = (body as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${response.status}`;
      throw new CliError(`the daemon refused: ${message}`, EXIT_FAILED);
    }
    return body as T;
  }
}

class StoreBackend implements Backend {
  readonly kind = 'store';
  private readonly config: ResolvedConfig;
  private readonly store: Store;

  constructor(config: ResolvedConfig, store: Store) {
    this.config = config;
    this.store = store;
  }

  async status(): Promise<StatusJson> {
    const { buildStatus } = await import('../status/build-status.ts');
    const { configuredBaseUrl } = await import('../status/check-json.ts');
    return buildStatus({ config: this.config, store: this.store, daemon: null, baseUrl: configuredBaseUrl(this.config) });
  }

  history(job: string, limit: number): Promise<Run[]> {
    return this.store.listRuns({ job, limit });
  }

  setPaused(job: string, paused: boolean): Promise<void> {
    return this.store.setPaused(job, paused);
  }

  trigger(job: string): Promise<Run> {
    throw new CliError(
      `the daemon is not running (nothing answers on ${this.config.http.host}:${this.config.http.port}), so it cannot start ${job}; ` +
        `start it with \`nightshift up\`, or run the command once with \`nightshift exec --job ${job} -- CMD\``,
    );
  }

  async waitForRun(runId: string): Promise<Run> {
    const run = await this.store.getRun(runId);
    if (!run) throw new CliError(`no run with id ${runId}`);
    return run;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
