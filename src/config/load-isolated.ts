/**
 * loadConfig in a short-lived child process, for the daemon: the config's modules — zod (whose index loads all 64
 * of its locales), yaml and the schema — are then never loaded into the daemon, which would keep them for as long as
 * it runs. Measured on Node 20.20 (docs/benchmarks.md, section 2), RSS of a process holding the daemon's modules and
 * a config of 20 jobs: 83 MB loaded in-process, 73.5 MB loaded in a worker thread (the thread's malloc arena keeps
 * ~3.5 MB of what the loader freed), 70 MB loaded in a child process. A load costs a Node start (~50 ms) on top, at
 * start-up and on reload only.
 *
 * Nothing here imports the config's modules; the child does (config-child.ts).
 */
import { fork } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

import { ConfigError, ConfigErrors, type ConfigErrorInit } from './errors.ts';
import type { LoadConfigOptions } from './load.ts';
import type { ResolvedConfig } from './types.ts';

export type IsolatedLoadResult =
  | { ok: true; config: ResolvedConfig }
  | { ok: false; configErrors: ConfigErrorInit[] }
  | { ok: false; failure: string };

/** The same as loadConfig (ConfigErrors included), run in a child process that ends when it is done. */
export async function loadConfigIsolated(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  // Everything the load reads from its process is passed in, so the result is what the daemon itself would get
  // (the default node name is hostname-pid: the daemon's pid, not the child's).
  const data: LoadConfigOptions = {
    ...options,
    env: { ...(options.env ?? process.env) },
    cwd: options.cwd ?? process.cwd(),
    hostname: options.hostname ?? hostname(),
    pid: options.pid ?? process.pid,
  };
  // Run from TypeScript source (the tests), there is no compiled entry for a child to run: load here instead.
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return (await import('./load.ts')).loadConfig(data);
  const result = await new Promise<IsolatedLoadResult>((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./config-child.js', import.meta.url)), [], {
      serialization: 'advanced',
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (message) => resolve(message as IsolatedLoadResult));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the config loader ended (${signal ?? `exit code ${code}`}) without an answer`)));
    child.send(data);
  });
  if (result.ok) return result.config;
  if ('configErrors' in result) throw new ConfigErrors(result.configErrors.map((init) => new ConfigError(init)));
  throw new Error(`loading the config failed: ${result.failure}`);
}
