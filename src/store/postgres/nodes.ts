/**
 * Reading the cluster's nodes (migration 0009's `nodes` table; written by src/cluster/, which reads them with the same
 * statement): the live ones with whether each leads, its last heartbeat and its running runs.
 */
import type { ClusterNode } from '../types.ts';
import type { Db } from './connection.ts';
import { toIso } from './rows.ts';

export const LIST_NODES = `SELECT n.name, n.leader, n.heartbeat_at, COALESCE(r.running, 0)::int AS running
  FROM nodes n LEFT JOIN (SELECT node, COUNT(*) AS running FROM runs WHERE status = 'running' GROUP BY node) r ON r.node = n.name
  WHERE NOT n.dead ORDER BY n.name`;

export interface NodeListRow {
  name: string;
  leader: boolean;
  heartbeat_at: number;
  running: number;
}

export function nodeFromRow(row: NodeListRow): ClusterNode {
  return { name: row.name, leader: row.leader, last_seen_at: toIso(row.heartbeat_at), running: row.running };
}

export async function listNodeRows(db: Db): Promise<ClusterNode[]> {
  return (await db.query<NodeListRow>(LIST_NODES)).rows.map(nodeFromRow);
}
