import type { Migration } from './index.ts';

/**
 * Several nodes on one database (src/cluster/): each node's row, its heartbeat on the database's clock, and the epoch
 * it registered with, and `session`, the application_name of every connection it opens (so a node declared dead can
 * have all of its sessions ended, and the transactions it left open with them) — a node declared dead (`dead`, set by the leader) finds its heartbeat refused and stands down. The leader
 * itself is an advisory lock on the cluster connection; `leader` only shows who holds it.
 */
export const migration0009: Migration = {
  version: 9,
  name: 'cluster',
  sql: `
CREATE SEQUENCE node_epochs;
CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  epoch BIGINT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  version TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  backend_pid INTEGER,
  session TEXT NOT NULL,
  leader BOOLEAN NOT NULL DEFAULT FALSE,
  dead BOOLEAN NOT NULL DEFAULT FALSE
);
`,
};
