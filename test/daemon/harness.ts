/**
 * Starts a real Daemon in-process on a temp dir: a real SQLite file, real child processes, a real HTTP socket on
 * 127.0.0.1 (port 0). `cleanup()` stops it and kills — by marker, only runs it started — anything left.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { Run, RunStatus } from '../../src/store/types.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { waitFor } from '../helpers/wait-for.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  config: ResolvedConfig;
  url: string;
  /** Rewrites nightshift.yaml (for reload tests). */
  writeConfig(yaml: string): void;
  runs(job: string, limit?: number): Promise<Run[]>;
  waitForRuns(job: string, what: string, pred: (runs: Run[]) => boolean, timeoutMs?: number): Promise<Run[]>;
  cleanup(): Promise<void>;
}

export function makeDir(prefix = 'nightshift-daemon-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function loadTestConfig(dir: string, yaml: string): ResolvedConfig {
  const path = join(dir, 'nightshift.yaml');
  writeFileSync(path, yaml);
  return loadConfig({ explicit: path, env: { ...process.env, FIXTURES }, cwd: dir });
}

export async function startTestDaemon(yaml: string, options: { dir?: string } = {}): Promise<TestDaemon> {
  const dir = options.dir ?? makeDir();
  const config = loadTestConfig(dir, yaml);
  const daemon = await Daemon.start({
    config,
    logger: silentLogger(),
    reloadConfig: async () => loadConfig({ explicit: join(dir, 'nightshift.yaml'), env: { ...process.env, FIXTURES }, cwd: dir }),
    port: 0,
  });
  const runs = (job: string, limit = 1000) => daemon.store.listRuns({ job, limit });
  return {
    daemon,
    dir,
    config,
    url: daemon.url(),
    writeConfig: (text) => writeFileSync(join(dir, 'nightshift.yaml'), text),
    runs,
    waitForRuns: (job, what, pred, timeoutMs = 15_000) =>
      waitFor(async () => {
        const list = await runs(job);
        return pred(list) ? list : null;
      }, timeoutMs, what),
    cleanup: async () => {
      const ids = (await daemon.store.listRuns({ statuses: ['running'], limit: 1000 }).catch(() => [])).map((r) => r.id);
      await daemon.stop();
      const host = new HostProcesses();
      for (const id of ids) await host.killMarked(id, null, 200);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const count = (runs: Run[], status: RunStatus, reason?: string | null) =>
  runs.filter((r) => r.status === status && (reason === undefined || r.reason === reason)).length;
