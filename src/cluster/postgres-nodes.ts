/**
 * The SQL of cluster membership on PostgreSQL (the `nodes` table, migration 0009, and the leader's advisory lock). Every
 * time is the database's clock in epoch milliseconds, so nodes whose clocks disagree still agree on who is stale.
 */
import type pg from 'pg';
import { WAKE_CHANNEL } from '../store/postgres/runs.ts';
import { LIST_NODES, nodeFromRow, type NodeListRow } from '../store/postgres/nodes.ts';
import type { ClusterNode } from '../store/types.ts';

/** The leader lock: two-number advisory lock (namespace, hashtext(schema)), one leader per nightshift schema. */
export const LEADER_LOCK_NAMESPACE = 0x6e730006;

const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
const LEADER_KEY = `$1::int, hashtext(current_schema())`;

export interface NodeRow {
  name: string;
  host: string;
  pid: number;
  dead: boolean;
  age_ms: number;
}

export interface Registration {
  name: string;
  /** The application_name of all of this process's connections (membership.ts sessionName). */
  session: string;
  host: string;
  pid: number;
  version: string;
}


export async function schemaOf(client: pg.Client): Promise<string> {
  return (await client.query<{ schema: string }>(`SELECT current_schema() AS schema`)).rows[0]!.schema;
}

export async function findNode(client: pg.Client, name: string): Promise<NodeRow | undefined> {
  const sql = `SELECT name, host, pid, dead, ${NOW_MS} - heartbeat_at AS age_ms FROM nodes WHERE name = $1`;
  return (await client.query<NodeRow>(sql, [name])).rows[0];
}

/** Inserts or takes over the node's row with a new epoch; returns the epoch. */
export async function register(client: pg.Client, node: Registration): Promise<number> {
  const sql = `INSERT INTO nodes (name, epoch, host, pid, version, started_at, heartbeat_at, backend_pid, session, leader)
    VALUES ($1, nextval('node_epochs'), $2, $3, $4, ${NOW_MS}, ${NOW_MS}, pg_backend_pid(), $5, FALSE)
    ON CONFLICT (name) DO UPDATE SET epoch = excluded.epoch, host = excluded.host, pid = excluded.pid, session = excluded.session,
      version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
      backend_pid = excluded.backend_pid, leader = FALSE, dead = FALSE
    RETURNING epoch`;
  return (await client.query<{ epoch: number }>(sql, [node.name, node.host, node.pid, node.version, node.session])).rows[0]!.epoch;
}

/** The heartbeat, fenced by epoch: false when this node's row was declared dead or taken over meanwhile. */
export async function beat(client: pg.Client, name: string, epoch: number): Promise<boolean> {
  const sql = `UPDATE nodes SET heartbeat_at = ${NOW_MS}, backend_pid = pg_backend_pid()
    WHERE name = $1 AND epoch = $2 AND NOT dead`;
  return ((await client.query(sql, [name, epoch])).rowCount ?? 0) > 0;
}

/** Session-level: held until released or the session ends (a node killed with -9 frees it at once). */
export async function tryLead(client: pg.Client): Promise<boolean> {
  const sql = `SELECT pg_try_advisory_lock(${LEADER_KEY}) AS taken`;
  return (await client.query<{ taken: boolean }>(sql, [LEADER_LOCK_NAMESPACE])).rows[0]!.taken;
}

export async function markLeader(client: pg.Client, name: string): Promise<void> {
  await client.query(`UPDATE nodes SET leader = (name = $1) WHERE leader OR name = $1`, [name]);
}

export async function stepDown(client: pg.Client, name: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${LEADER_KEY})`, [LEADER_LOCK_NAMESPACE]);
  await client.query(`UPDATE nodes SET leader = FALSE WHERE name = $1`, [name]);
}

/**
 * A leader that stopped heartbeating but still holds the lock (its process is stopped, or cut off with its session
 * open): its session is ended, which frees the lock. Returns the node unseated, or null. Ending another session needs
 * the same database role, which every node of one cluster uses.
 */
export async function unseatStaleLeader(client: pg.Client, deadAfterMs: number): Promise<string | null> {
  const sql = `SELECT n.name FROM pg_locks l JOIN nodes n ON n.backend_pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ($1::bigint & 4294967295)::oid
      AND l.objid = (hashtext(current_schema())::bigint & 4294967295)::oid
      AND ${NOW_MS} - n.heartbeat_at > $2`;
  const row = (await client.query<{ name: string }>(sql, [LEADER_LOCK_NAMESPACE, deadAfterMs])).rows[0];
  if (row === undefined) return null;
  return (await endSessions(client, row.name)) > 0 ? row.name : null;
}

/**
 * Ends every session of a node (its cluster session and its store's pool: all carry its `session` name). The leader
 * lock goes with the first; an open transaction with the others — a node stopped mid-transaction would otherwise hold
 * its row locks, and the fires and checks waiting on them, until idle_in_transaction_session_timeout. Returns how many.
 */
export async function endSessions(client: pg.Client, node: string): Promise<number> {
  const sql = `SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid))::int AS ended
    FROM pg_stat_activity a JOIN nodes n ON a.application_name = n.session
    WHERE n.name = $1 AND a.datname = current_database() AND a.pid <> pg_backend_pid()`;
  return (await client.query<{ ended: number }>(sql, [node])).rows[0]?.ended ?? 0;
}

/** Marks nodes silent for `deadAfterMs` dead (their next heartbeat fails: fenced); returns every dead node's name. */
export async function markDead(client: pg.Client, self: string, deadAfterMs: number): Promise<string[]> {
  const newly = await client.query<{ name: string }>(
    `UPDATE nodes SET dead = TRUE, leader = FALSE WHERE name <> $1 AND NOT dead AND ${NOW_MS} - heartbeat_at > $2 RETURNING name`,
    [self, deadAfterMs],
  );
  // Its open transactions must not hold the rows its runs are about to be released from.
  for (const { name } of newly.rows) await endSessions(client, name);
  return (await client.query<{ name: string }>(`SELECT name FROM nodes WHERE dead ORDER BY name`)).rows.map((r) => r.name);
}

/** Removes a dead node's row once its runs are dealt with (only while it is still the dead one: not re-registered). */
export async function forget(client: pg.Client, name: string): Promise<void> {
  await client.query(`DELETE FROM nodes WHERE name = $1 AND dead`, [name]);
}

/**
 * Nodes named by running runs that have no row: runs a node left before this version kept rows (migration 0009), or
 * whose row was forgotten before their end was written. `exec` runs are left out: a crontab wrapper is no node.
 */
export async function orphanNodes(client: pg.Client): Promise<string[]> {
  const sql = `SELECT DISTINCT node FROM runs WHERE status = 'running' AND "trigger" <> 'exec' AND node IS NOT NULL
    AND node NOT IN (SELECT name FROM nodes)`;
  return (await client.query<{ node: string }>(sql)).rows.map((r) => r.node);
}

export async function leave(client: pg.Client, name: string, epoch: number): Promise<void> {
  await client.query(`DELETE FROM nodes WHERE name = $1 AND epoch = $2`, [name, epoch]);
}

/** Asks every node, through LISTEN, to cancel a run (the one supervising it does; no one else has it). */
export async function notifyCancel(client: pg.Client, runId: string, why: string): Promise<void> {
  await client.query(`SELECT pg_notify($1, 'cancel:' || current_schema() || ':' || $2 || ':' || $3)`, [WAKE_CHANNEL, runId, why]);
}

/** The live nodes, as `status` shows them (the store reads them with the same statement). */
export async function listNodes(client: pg.Client): Promise<ClusterNode[]> {
  return (await client.query<NodeListRow>(LIST_NODES)).rows.map(nodeFromRow);
}
