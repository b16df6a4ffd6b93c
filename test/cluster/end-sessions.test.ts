/**
 * A node declared dead, or a leader unseated for going silent, has every one of its sessions ended — the cluster
 * session that holds the leader lock and the store's pool connections alike, found by the application_name they all
 * carry. A node stopped in the middle of a transaction otherwise keeps its row locks (and the fires and checks waiting
 * on them) until PostgreSQL's idle_in_transaction_session_timeout, a minute later. On a real PostgreSQL.
 */
import { afterEach, expect, it } from 'vitest';
import pg from 'pg';
import { usePostgres } from '../helpers/postgres.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import * as nodes from '../../src/cluster/postgres-nodes.ts';
import { sessionName } from '../../src/cluster/membership.ts';

const postgres = usePostgres();
const clients: pg.Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.end().catch(() => {});
});

async function connect(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {}); // the terminated ones
  await client.connect();
  clients.push(client);
  return client;
}

/** Whether the session still answers (a terminated one fails). */
async function answers(client: pg.Client): Promise<boolean> {
  try {
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** Takes the row the stopped node's transaction holds, or fails at once (lock_timeout) while it is held. */
async function takeRow(client: pg.Client, job: string): Promise<boolean> {
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = '300ms'`);
    await client.query(`INSERT INTO job_state (job, paused) VALUES ($1, TRUE) ON CONFLICT (job) DO UPDATE SET paused = TRUE`, [job]);
    await client.query('COMMIT');
    return true;
  } catch {
    await client.query('ROLLBACK').catch(() => {});
    return false;
  }
}

it('ends every session of a node unseated or declared dead, releasing the row locks its open transaction held', async () => {
  const schema = await postgres.createSchema();
  const store = await openPostgresStore(schema.url);
  await store.migrate();

  const ghost = sessionName('ghost');
  expect(ghost).toMatch(/^nightshift ghost [0-9a-f]{6}$/);
  expect(sessionName('ghost')).not.toBe(ghost); // one per process: two daemons named alike never share it
  const leaderSession = sessionName('leader');
  const ghostCluster = await connect(schema.url, ghost);
  const ghostPool = await connect(schema.url, ghost);
  const leader = await connect(schema.url, leaderSession);
  await nodes.register(ghostCluster, { name: 'ghost', session: ghost, host: 'h', pid: 1, version: 'test' });
  await nodes.register(leader, { name: 'leader', session: leaderSession, host: 'h', pid: 2, version: 'test' });
  expect(await nodes.tryLead(ghostCluster)).toBe(true);
  expect(await nodes.tryLead(leader)).toBe(false);
  await nodes.markLeader(ghostCluster, 'ghost');
  // What `status` lists without a daemon: the live nodes, who leads, their running runs.
  expect(await store.listNodes()).toEqual([
    { name: 'ghost', leader: true, last_seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), running: 0 },
    { name: 'leader', leader: false, last_seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), running: 0 },
  ]);

  // The leader goes silent in the middle of a transaction that holds a row.
  await leader.query(`UPDATE nodes SET heartbeat_at = 0 WHERE name = 'ghost'`);
  await ghostPool.query('BEGIN');
  await ghostPool.query(`INSERT INTO job_state (job, paused) VALUES ('scan', FALSE)`);
  expect(await takeRow(leader, 'scan')).toBe(false);

  expect(await nodes.unseatStaleLeader(leader, 1000)).toBe('ghost');
  expect(await answers(ghostCluster)).toBe(false);
  expect(await answers(ghostPool)).toBe(false);
  expect(await nodes.tryLead(leader)).toBe(true);
  expect(await takeRow(leader, 'scan')).toBe(true);

  // A follower declared dead mid-transaction: the same.
  const shade = sessionName('shade');
  const shadeCluster = await connect(schema.url, shade);
  const shadePool = await connect(schema.url, shade);
  const bystander = await connect(schema.url, 'nightshift'); // a CLI command's connection: not the shade's
  await nodes.register(shadeCluster, { name: 'shade', session: shade, host: 'h', pid: 3, version: 'test' });
  await leader.query(`UPDATE nodes SET heartbeat_at = 0 WHERE name = 'shade'`);
  await shadePool.query('BEGIN');
  await shadePool.query(`INSERT INTO job_state (job, paused) VALUES ('ingest', FALSE)`);
  expect(await takeRow(leader, 'ingest')).toBe(false);
  expect(await nodes.markDead(leader, 'leader', 1000)).toEqual(['ghost', 'shade']);
  expect(await answers(shadeCluster)).toBe(false);
  expect(await answers(shadePool)).toBe(false);
  expect(await answers(bystander)).toBe(true);
  expect(await answers(leader)).toBe(true);
  expect(await takeRow(leader, 'ingest')).toBe(true);
  // Dead nodes are not listed; the leader that took over is.
  expect((await store.listNodes()).map((n) => n.name)).toEqual(['leader']);
  await store.close();
  await schema.drop();
}, 30_000);
