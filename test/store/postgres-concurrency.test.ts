/**
 * The PostgreSQL store under several nodes at once: each "node" is a store with its own pool on one schema, and the
 * operations race for real (Promise.all over separate connections). What SQLite gets from its single writer,
 * PostgreSQL must get from row locks, advisory locks and SKIP LOCKED: one winner per lock, each task claimed once, a
 * queue's concurrency held fleet-wide, no lost state update, one incident per condition.
 */
import pgDriver from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { claimTaskRows } from '../../src/store/postgres/tasks.ts';
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

  it('holds a wide queue\'s concurrency when racing claims cross from the shared lock to the exclusive one', async () => {
    // Concurrency 64 (the least that claims under the shared lock with a slot, migration 0010): a claim starts there
    // and must fall back to the exclusive lock once the queue is within 8 of full; 82 claimers on 3 nodes
    // (15 connections) race, exactly 64 may win.
    const stores = await fleet();
    for (let i = 0; i < 90; i++) {
      await stores[0]!.enqueueTask({ id: newRunId(), queue: 'wide', payload_json: '{}', priority: 0, run_at: at(0), key: null, created_at: at(0) });
    }
    const race = () => Promise.all(Array.from({ length: 82 }, (_, i) => stores[i % NODES]!.claimTask(claimRequest('wide', i % NODES, 64))));
    const first = await race();
    const won = first.flatMap((r) => (r.task === null ? [] : [r.task]));
    expect(won).toHaveLength(64);
    expect(new Set(won.map((t) => t.id)).size).toBe(64);
    expect(first.filter((r) => r.blocked === 'concurrency')).toHaveLength(18);
    // Five finish (fenced, concurrently), and the next race refills exactly those five slots.
    const finished = await Promise.all(won.slice(0, 5).map((t, i) => stores[i % NODES]!.completeTask(t.id, { lease_token: t.lease_token }, null, at(1))));
    expect(finished.every((r) => r.ok)).toBe(true);
    const second = await race();
    expect(second.filter((r) => r.task !== null)).toHaveLength(5);
    expect((await stores[2]!.countTasks())[0]).toMatchObject({ queue: 'wide', running: 64, done: 5, queued: 21 });
  });

  it('holds the concurrency when 80 claims on 30 connections race, slot claims retrying under the exclusive lock', async () => {
    // More connections than a store's pool, so that many claims hold the shared lock and a slot together and find the
    // queue near its limit only then: those must retry exclusively, and the limit must still hold.
    const stores = await fleet();
    const pool = new pgDriver.Pool({
      connectionString: schema!.url,
      max: 30,
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pgDriver.types.getTypeParser(oid, format))) as typeof pgDriver.types.getTypeParser },
    });
    try {
      await Promise.all(Array.from({ length: 30 }, () => pool.query('SELECT 1')));
      let retried = 0;
      const db = {
        query: async (text: string, values?: readonly unknown[]) => {
          const result = await pool.query(text, values === undefined ? undefined : [...values]);
          if ((result.rows[0] as { blocked?: string } | undefined)?.blocked === 'exclusive') retried += 1;
          return result;
        },
      };
      // At least 5 rounds, and on until one has reached the exclusive retry (a loaded machine may need more to race).
      for (let round = 0; round < 30 && (round < 5 || retried === 0); round++) {
        const queue = `crowd-${round}`;
        for (let i = 0; i < 100; i++) {
          await stores[0]!.enqueueTask({ id: newRunId(), queue, payload_json: '{}', priority: 0, run_at: at(0), key: null, created_at: at(0) });
        }
        const results = await Promise.all(Array.from({ length: 80 }, () => claimTaskRows(db, claimRequest(queue, 0, 64))));
        expect(results.filter((r) => r.task !== null)).toHaveLength(64);
        expect(results.filter((r) => r.blocked === 'concurrency')).toHaveLength(16);
        expect((await stores[1]!.countTasks()).find((c) => c.queue === queue)).toMatchObject({ running: 64, queued: 36 });
      }
      expect(retried, 'no slot claim had to retry under the exclusive lock: the race did not reach that path').toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });

  it('orders a late complete and the claims that reap its lapsed lease: the task is done or re-claimed, never both', async () => {
    const stores = await fleet();
    for (let round = 0; round < 5; round++) {
      const queue = `late-${round}`;
      await stores[0]!.enqueueTask({ id: newRunId(), queue, payload_json: '{}', priority: 0, run_at: at(0), key: null, created_at: at(0) });
      const first = await stores[0]!.claimTask({ ...claimRequest(queue, 0, 100), lease_ms: 1_000 });
      const task = first.task!;
      const [late, ...claims] = await Promise.all([
        stores[0]!.completeTask(task.id, { lease_token: task.lease_token }, '"late"', at(5_000)),
        ...[1, 2, 1, 2].map((node) => stores[node]!.claimTask({ ...claimRequest(queue, node, 100), now: at(5_000) })),
      ]);
      const reclaimed = claims.flatMap((c) => (c.task === null ? [] : [c.task]));
      const now = await stores[1]!.getTask(task.id);
      if (late!.ok) {
        expect(reclaimed).toEqual([]);
        expect(now).toMatchObject({ state: 'done', result: 'late', attempt: 1 });
      } else {
        expect(late).toMatchObject({ reason: 'lease_lost' });
        expect(reclaimed).toHaveLength(1);
        expect(now).toMatchObject({ state: 'running', attempt: 2, lease_token: reclaimed[0]!.lease_token });
      }
    }
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
