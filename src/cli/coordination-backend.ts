/**
 * Where `nightshift state` and `nightshift lock` do their work:
 * - inside a run (NIGHTSHIFT_URL and NIGHTSHIFT_RUN_TOKEN set): the daemon's API as that run — no config needed, and
 *   writes are audited under the run, its locks end with it;
 * - outside one, with the daemon answering at the config's address: its API with the API token (as the operator);
 * - without a daemon: the state database directly, through the same steward and lock service the daemon uses
 *   (SQLite serialises the writers; a lock names this process, so it is reclaimed as soon as this process is gone).
 */
import type { Command } from 'commander';
import { parseDuration } from '../config/units.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { Freshness } from '../coordination/upstream.ts';
import { readApiToken } from '../daemon/api-token.ts';
import { call, daemonFromEnv, NightshiftError, type DaemonAddress } from '../sdk/client.ts';
import { lockClient, type LockRecordJson } from '../sdk/lock.ts';
import { stateClient } from '../sdk/state.ts';
import { upstreamClient } from '../sdk/upstream.ts';
import type { StateLogEntry, Store } from '../store/types.ts';
import { CliError, EXIT_FAILED } from './errors.ts';

/** A lock this process holds, however it was taken. */
export interface HeldLock {
  record: LockRecordJson;
  /** Another ttl from now; 'lost' when the holding lapsed and was taken over, 'unreachable' when nobody answered. */
  renew(ttlMs: number): Promise<'ok' | 'lost' | 'unreachable'>;
  release(): Promise<boolean>;
}

/** Who holds a lock this process could not get (null: it was free by the time we looked). */
export type LockHolderView = Omit<LockRecordJson, 'token'> | null;

export interface CoordinationBackend {
  /** Said in messages: where the work went. */
  readonly where: string;
  stateGet(key: string): Promise<{ value: unknown; version: number } | null>;
  stateSet(key: string, value: unknown, version: number | undefined): Promise<{ version: number }>;
  stateLog(key: string, limit: number): Promise<StateLogEntry[]>;
  acquire(name: string, ttlMs: number, waitMs: number): Promise<{ lock: HeldLock } | { lock: null; heldBy: LockHolderView }>;
  freshness(job: string, withinMs: number | null): Promise<Freshness>;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 10_000;

export async function connectCoordination(command: Command): Promise<CoordinationBackend> {
  const env = process.env;
  if (env.NIGHTSHIFT_RUN_ID && env.NIGHTSHIFT_RUN_TOKEN && env.NIGHTSHIFT_URL) {
    return remote(daemonFromEnv(env), `the daemon at ${env.NIGHTSHIFT_URL} (as run ${env.NIGHTSHIFT_RUN_ID})`);
  }
  // Inside a run none of this is needed: the config (zod, yaml) is loaded only outside one.
  const [{ loadCliConfig }, { configuredBaseUrl }] = await Promise.all([import('./context.ts'), import('../status/check-json.ts')]);
  const config = await loadCliConfig(command);
  const url = configuredBaseUrl(config);
  if (await answers(url)) {
    const token = (await readApiToken(config.stateDir, config.http.token)) ?? '';
    return remote({ url, token, runId: null }, `the daemon at ${url}`);
  }
  return local(config);
}

function remote(address: DaemonAddress, where: string): CoordinationBackend {
  const state = stateClient(() => address);
  const takeLock = lockClient(() => address);
  const upstream = upstreamClient(() => address);
  return {
    where,
    stateGet: (key) => cli(state.get(key)),
    stateSet: (key, value, version) => cli(state.set(key, value, version === undefined ? {} : { version })),
    stateLog: (key, limit) => cli(state.log(key, { limit })),
    async acquire(name, ttlMs, waitMs) {
      const held = await cli(takeLock(name, { ttl: ttlMs, wait: waitMs }));
      if (held === null) {
        const holder = await call<LockHolderView>(address, 'GET', `/locks/${encodeURIComponent(name)}`, { nullOn: [404] }).catch(() => null);
        return { lock: null, heldBy: holder };
      }
      return {
        lock: {
          record: held.toJSON(),
          async renew(ms) {
            try {
              await held.renew(ms);
              return 'ok';
            } catch (error) {
              return error instanceof NightshiftError && error.code === 'not_held' ? 'lost' : 'unreachable';
            }
          },
          release: () => held.release(),
        },
      };
    },
    freshness: (job, withinMs) => cli(upstream.check(job, withinMs === null ? {} : { within: withinMs })),
    close: async () => {},
  };
}

async function local(config: ResolvedConfig): Promise<CoordinationBackend> {
  // Loaded only without a daemon: the store and SQLite's native module are the slow part of a CLI start.
  const [{ openStore }, { StateSteward }, { LockService }, { HostProcesses }, { freshnessOf }] = await Promise.all([
    import('../store/open.ts'),
    import('../coordination/state-steward.ts'),
    import('../coordination/lock-service.ts'),
    import('../scheduler/host-processes.ts'),
    import('../coordination/upstream.ts'),
  ]);
  const store: Store = await openStore(config.store);
  await store.migrate();
  const host = new HostProcesses();
  const steward = new StateSteward(store);
  const locks = new LockService({ store, probe: host, sameHost: config.store.kind === 'sqlite', node: config.node });
  const operator = { job: null, run_id: null };
  return {
    where: `the state database (${config.store.kind === 'sqlite' ? config.store.path : 'postgres'}; no daemon answers)`,
    stateGet: async (key) => {
      const entry = await refusals(steward.get(key));
      return entry === null ? null : { value: entry.value, version: entry.version };
    },
    stateSet: (key, value, version) => refusals(steward.set(key, value, { version: version ?? null, by: operator })).then(({ version: v }) => ({ version: v })),
    stateLog: (key, limit) => refusals(steward.log(key, limit)),
    async acquire(name, ttlMs, waitMs) {
      const claimant = { run_id: null, pid: process.pid, pid_start: await host.startTimeOf(process.pid) };
      const outcome = await refusals(locks.acquire(name, claimant, { ttlMs, waitMs }));
      if (outcome.lock === null) return { lock: null, heldBy: outcome.heldBy };
      const token = outcome.lock.token;
      return {
        lock: {
          record: outcome.lock,
          async renew(ms) {
            try {
              await locks.renew(name, token, ms);
              return 'ok';
            } catch (error) {
              return (error as { code?: string }).code === 'not_held' ? 'lost' : 'unreachable';
            }
          },
          release: () => locks.release(name, token),
        },
      };
    },
    async freshness(job, withinMs) {
      if (withinMs === null) throw new CliError('give the window with --within, e.g. --within 2h', 2);
      return freshnessOf(store, job, config.jobs[job]?.kind ?? null, withinMs, Date.now());
    },
    close: () => store.close(),
  };

  async function refusals<T>(work: Promise<T>): Promise<T> {
    const { isCoordinationError } = await import('../coordination/errors.ts');
    try {
      return await work;
    } catch (error) {
      if (isCoordinationError(error)) throw new CliError(error.message, error.code === 'bad_request' || error.code === 'too_large' ? 2 : EXIT_FAILED);
      throw error;
    }
  }
}

/** The daemon's refusals as one line on stderr: a bad request exits 2, anything else 1. */
async function cli<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof NightshiftError) {
      throw new CliError(error.message, error.status === 400 || error.status === 413 || error.code === 'bad_request' ? 2 : EXIT_FAILED);
    }
    throw error;
  }
}

/** Whether a nightshift daemon answers at `url` (a foreign server on the port does not count). */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = (await response.json()) as { ok?: unknown };
    return typeof body.ok === 'boolean';
  } catch {
    return false;
  }
}

/** A `--ttl` / `--wait` / `--within` flag in milliseconds; exit 2 naming the flag and the fix. */
export function durationFlag(raw: string | undefined, flag: string, fallback: string): number {
  const text = raw ?? fallback;
  try {
    return parseDuration(text);
  } catch {
    throw new CliError(`${flag} '${text}' is not a duration: write it like 30s, 10m or 2h`, 2);
  }
}

