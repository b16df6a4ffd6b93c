/**
 * One daemon per PostgreSQL database until leader election exists: a second daemon on the same database is refused
 * with the holder's node named, and the database is free again once the first stops — on a real PostgreSQL.
 */
import { afterEach, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { acquireInstanceLock, DaemonAlreadyRunningError } from '../../src/daemon/instance-lock.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/types.ts';
import { usePostgres } from '../helpers/postgres.ts';

const pg = usePostgres();
const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function configOf(url: string, node: string): ResolvedConfig {
  // Only what the instance lock reads; the rest of a config does not matter to it.
  return { store: { kind: 'postgres', url }, node, stateDir: '/nonexistent' } as unknown as ResolvedConfig;
}

async function storeOn(url: string): Promise<Store> {
  const store = await openPostgresStore(url);
  opened.push(store);
  await store.migrate();
  return store;
}

it('a second daemon on the same PostgreSQL database is refused, naming the first; it may start once the first stops', async () => {
  const schema = await pg.createSchema();
  const host = new HostProcesses();
  const first = await storeOn(schema.url);
  const second = await storeOn(schema.url);
  const release = await acquireInstanceLock(first, host, configOf(schema.url, 'vps-1'), null);

  const refused = acquireInstanceLock(second, host, configOf(schema.url, 'vps-2'), null);
  await expect(refused).rejects.toBeInstanceOf(DaemonAlreadyRunningError);
  await expect(refused).rejects.toThrow(/another nightshift daemon \(node vps-1, pid \d+\) is using this PostgreSQL database/);

  await release();
  const releaseSecond = await acquireInstanceLock(second, host, configOf(schema.url, 'vps-2'), null);
  expect((await second.getLock('daemon'))?.node).toBe('vps-2');
  await releaseSecond();
  await schema.drop();
});
