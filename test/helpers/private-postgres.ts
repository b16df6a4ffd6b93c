/**
 * A PostgreSQL cluster of a test's own, for tests that stop and restart the server (the run's shared one, from
 * test/setup/postgres-global.ts, must never go away under other tests). Made the same way as the shared one (same
 * code): initdb into a temporary directory, started on a free loopback port; `stop()` is `pg_ctl stop -m fast` (as an
 * operator's restart or a failover does it: connections are closed), `start()` brings it back on the same port.
 * `destroy()` stops and removes it; a test process killed before that leaves it to the next run's global setup, which
 * removes clusters whose owner is gone.
 */
import { join } from 'node:path';
import { exec, serverOptions, startCluster, stopCluster, type Cluster } from '../setup/postgres-global.ts';

export interface PrivatePostgres {
  url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const cluster: Cluster = await startCluster();
  const data = join(cluster.dir, 'data');
  const port = Number(new URL(cluster.url).port);
  const pgCtl = (args: string[]) => {
    const result = exec(cluster.asPostgres, join(cluster.bin, 'pg_ctl'), args);
    if (result.status !== 0) throw new Error(`pg_ctl ${args[0]} failed: ${result.stderr}`);
  };
  return {
    url: cluster.url,
    stop: () => pgCtl(['stop', '-D', data, '-m', 'fast', '-w']),
    start: () => pgCtl(['start', '-D', data, '-l', join(cluster.dir, 'server.log'), '-w', '-t', '30', '-o', serverOptions(port, cluster.dir)]),
    destroy: () => {
      try {
        stopCluster(cluster);
      } catch {
        // Already stopped (a test that failed between stop() and start()): stopCluster removed the directory anyway.
      }
    },
  };
}
