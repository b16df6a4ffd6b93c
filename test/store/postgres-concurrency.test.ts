/**
 * The PostgreSQL store under several nodes at once: each "node" is a store with its own pool on one schema, and the
 * operations race for real (Promise.all over separate connections). What SQLite gets from its single writer,
 * PostgreSQL must get from row locks, advisory locks and SKIP LOCKED: one winner per lock, each task claimed once, a
 * queue's concurrency held fleet-wide, no lost state update, one incident per condition.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { ClaimRequest, Store } from '../../src/store/types.ts';
import { newRunId } from '../../src/util/ids.ts';
import { usePostgres, type TestSchema } from '../helpers/postgres.ts';
import { at, ended, lockRequest, newRun } from './conformance/fixtures.ts';

const pg = usePostgres();
const NODES = 3;

let schema: TestSchema | undefined;
let nodes: Store[] = [];

/** NODES stores on one fresh, migrated schema. */
async function fleet(): Promise<Store[]> {
  schema = await pg.createSchema();
  nodes = [];
  for (let i = 0; i < NODES; i++) nodes.push(await openPostgresStore(schema.url));
  await Promise.all(nodes.map((store) => store.migrate()));
  return nodes;
}

afterEach(async () => {
  try {
    for (const store of nodes) await store.close();
  } finally {
    nodes = [];
    await schema?.drop();
    schema = undefined;
  }
});

function claimRequest(queue: string, node: number, concurrency: number): ClaimRequest {
  return {
    queue,
    now: at(0),
    lease_token: `lease-${newRunId()}`,
    lease_ms: 60_000,
    claimed_by: `node-${node}`,
    run_id: null,
    limits: { concurrency, rate: null, retries: 3, budget: null },
  };
}

describe('PostgreSQL store, several nodes at once', () => {
  it('starts a job on exactly one node when all race for its lock', async () => {
    const stores = await fleet();
    for (let round = 0; round < 5; round++) {
      const job = `scan-${round}`;
      const results = await Promise.all(stores.map((store, i) => store.startRun(newRun(job), lockRequest(job, `node-${i}`), at(0))));
      const started = results.flatMap((r) => (r.started ? [r.run] : []));
      expect(started).toHaveLength(1);
      expect(results.flatMap((r) => (r.started ? [] : [r.heldBy.run_id]))).toEqual(Array(NODES - 1).fill(started[0]?.id));
      // The losers' runs were rolled back with their failed lock.
      expect(await stores[0]!.listRuns({ job })).toHaveLength(1);
      await stores[1]!.finishRun(started[0]!.id, ended('succeeded', at(1), { exit_code: 0 }));
      expect(await stores[2]!.getLock(job)).toBeNull();
    }
  });

  it('hands an expired lock to exactly one of many takers', async () => {
    const stores = await fleet();
    await stores[0]!.acquireLock(lockRequest('nightly', 'old', { ttl_ms: 1_000 }), at(0));
    const results = await Promise.all(
      stores.flatMap((store, i) => [0, 1, 2].map((j) => store.acquireLock(lockRequest('nightly', `t${i}-${j}`), at(5_000)))),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });

  it('claims each task once when every node claims at once (SKIP LOCKED), and holds concurrency fleet-wide', async () => {
    const stores = await fleet();
    const ids = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const { task } = await stores[0]!.enqueueTask({ id: newRunId(), queue: 'q', payload_json: `{"n":${i}}`, priority: 0, run_at: at(0), key: null, created_at: at(0) });
      ids.add(task.id);
    }
    // Concurrency 5 across the fleet: 9 claimers race, exactly 5 get a task, all different.
    const first = await Promise.all(
      Array.from({ length: 9 }, (_, i) => stores[i % NODES]!.claimTask(claimRequest('q', i % NODES, 5))),
    );
    const claimed = first.flatMap((r) => (r.task === null ? [] : [r.task.id]));
    expect(claimed).toHaveLength(5);
    expect(new Set(claimed).size).toBe(5);
    expect(first.filter((r) => r.blocked === 'concurrency')).toHaveLength(4);

    // Unlimited: everything left is claimed exactly once.
    const rest = await Promise.all(
      Array.from({ length: 12 }, (_, i) => stores[i % NODES]!.claimTask(claimRequest('q', i % NODES, 100))),
    );
    const more = rest.flatMap((r) => (r.task === null ? [] : [r.task.id]));
    expect(new Set([...claimed, ...more])).toEqual(ids);
    expect(claimed.length + more.length).toBe(ids.size);
    expect((await stores[1]!.countTasks())[0]).toMatchObject({ queue: 'q', queued: 0, running: 12 });
  });

  it('loses no update when nodes compare-and-set one key at once', async () => {
    const stores = await fleet();
    const write = (store: Store, version: number, value: number) =>
      store.setState({
        key: 'counter',
        value_json: String(value),
        expect_version: version,
        by: { job: null, run_id: null },
        at: at(0),
        log_keep: 100,
        log_value_max_bytes: 1_000,
      });
    // Each node increments 5 times, retrying on conflict as state.update does.
    await Promise.all(
      stores.map(async (store) => {
        for (let done = 0; done < 5; ) {
          const current = await store.getState('counter');
          const result = await write(store, current?.version ?? 0, ((current?.value as number | undefined) ?? 0) + 1);
          if (result.written) done++;
        }
      }),
    );
    expect(await stores[0]!.getState('counter')).toMatchObject({ value: NODES * 5, version: NODES * 5 });
    expect(await stores[0]!.listStateLog('counter', 100)).toHaveLength(NODES * 5);
  });

  it('opens one incident when every node notices the same condition at once', async () => {
    const stores = await fleet();
    const results = await Promise.all(
      stores.map((store) =>
        store.openIncident({
          id: newRunId(),
          kind: 'job_late',
          subject: 'scan',
          summary: 'scan is late',
          detail: { fix: 'look at it' },
          at: at(0),
          notify: [{ id: newRunId(), channel: 'ops' }],
        }),
      ),
    );
    expect(results.map((r) => r.outcome).sort()).toEqual(['already_open', 'already_open', 'opened']);
    expect(await stores[0]!.listDueNotifications(at(0), 10)).toHaveLength(1);
  });
});
