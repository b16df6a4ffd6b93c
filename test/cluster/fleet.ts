/**
 * Several real daemons (`nightshift up`, each its own process, port and state directory) on one PostgreSQL schema,
 * all from one config file — as a user runs them — with NIGHTSHIFT_NODE, the port and the state directory from the
 * environment. What the tests assert they read from the database itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { exited, freePort, spawnDaemon } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { HostProcesses } from '../../src/scheduler/host-processes.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Run, Store } from '../../src/store/types.ts';
import pg from 'pg';
import { afterEach } from 'vitest';

export interface FleetNode {
  name: string;
  url: string;
  /** The environment that makes the fleet's config file this node's (for the CLI). */
  env: NodeJS.ProcessEnv;
  process: ChildProcess & { output: () => string };
}

export interface NodeRow {
  name: string;
  leader: boolean;
  dead: boolean;
  heartbeat_at: number;
}

export interface Fleet {
  dir: string;
  /** Runs whose leftover processes (killed by marker) the fleet's destroy() must not leave behind. */
  runIds: string[];
  configPath: string;
  nodes: FleetNode[];
  store: Store;
  node(name: string): FleetNode;
  /** The nodes table as it is now. */
  rows(): Promise<NodeRow[]>;
  /** The live leader's name, once exactly one node holds the flag and its process runs. */
  leader(): Promise<string | null>;
  runs(job: string): Promise<Run[]>;
  /** Everything the daemons printed, for failure messages. */
  output(): string;
  /** SIGKILLs what is still running, kills marked leftovers of `runIds`, removes the directory, closes the store. */
  destroy(): Promise<void>;
}

export interface FleetOptions {
  dbUrl: string;
  /** The `jobs:` section, indented by two spaces. */
  jobs: string;
  count: number;
  /** Top-level config sections before `jobs:` (queues, checks …). */
  extra?: string;
  heartbeat?: string;
  deadAfter?: string;
}

/** Every node's API token (one config file: the same on each). */
export const FLEET_TOKEN = 'fleet-test-token';

/** The cluster timings the tests run with: failover within dead_after + heartbeat = 4 s. */
export const TEST_CLUSTER = { heartbeat: '1s', dead_after: '3s' };

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-fleet-'));
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    `store: "${options.dbUrl}"
state_dir: \${FLEET_STATE}
http: { listen: "127.0.0.1:\${FLEET_PORT}", token: ${FLEET_TOKEN} }
cluster: { heartbeat: ${options.heartbeat ?? TEST_CLUSTER.heartbeat}, dead_after: ${options.deadAfter ?? TEST_CLUSTER.dead_after} }
shutdown_grace: 2s
${options.extra ?? ''}jobs:
${options.jobs}`,
  );
  const nodes: FleetNode[] = [];
  for (let i = 1; i <= options.count; i++) {
    const name = `node-${i}`;
    const port = await freePort();
    const env = { NIGHTSHIFT_NODE: name, FLEET_PORT: String(port), FLEET_STATE: join(dir, name) };
    const child = spawnDaemon(configPath, env);
    nodes.push({ name, url: `http://127.0.0.1:${port}`, env, process: child });
  }
  const store = await openPostgresStore(options.dbUrl);
  await store.migrate(); // beside the daemons' own: the migration lock lets one of them apply it
  // A connection per look: the database may be restarted under the fleet (a held one would break with it).
  const query = async <Row extends pg.QueryResultRow>(text: string): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: options.dbUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<Row>(text)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const output = () => nodes.map((n) => `--- ${n.name}:\n${n.process.output()}`).join('\n');
  const fleet: Fleet = {
    dir,
    configPath,
    runIds: [],
    nodes,
    store,
    node: (name) => nodes.find((n) => n.name === name)!,
    rows: () => query<NodeRow>('SELECT name, leader, dead, heartbeat_at FROM nodes ORDER BY name'),
    leader: async () => {
      const leaders = (await fleet.rows()).filter((r) => r.leader && !r.dead);
      const node = leaders.length === 1 ? nodes.find((n) => n.name === leaders[0]!.name) : undefined;
      return node && node.process.exitCode === null && node.process.signalCode === null ? node.name : null;
    },
    runs: (job) => store.listRuns({ job, limit: 10_000 }),
    output,
    destroy: async () => {
      for (const node of nodes) {
        if (node.process.exitCode === null && node.process.signalCode === null && node.process.pid !== undefined) {
          process.kill(node.process.pid, 'SIGCONT');
          process.kill(node.process.pid, 'SIGKILL');
        }
        await exited(node.process);
      }
      const host = new HostProcesses();
      for (const id of fleet.runIds) await host.killMarked(id, null, 100);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => (await fleet.rows()).length === options.count && (await fleet.leader()) !== null, 30_000, 'every node to join and one to lead');
    await waitFor(async () => (await Promise.all(nodes.map(answers))).every(Boolean), 30_000, 'every node to answer on its API');
  } catch (error) {
    await fleet.destroy();
    throw new Error(`${String(error)}\n${output()}`);
  }
  return fleet;
}

/** Starts a run of `job` through this node's API (it starts on that node when it can); returns its id. */
export async function triggerOn(node: FleetNode, job: string): Promise<string> {
  const response = await fetch(`${node.url}/api/v1/jobs/${job}/runs`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKEN}` } });
  if (response.status >= 300) throw new Error(`triggering ${job} on ${node.name}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { run: Run }).run.id;
}

async function answers(node: FleetNode): Promise<boolean> {
  try {
    await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/** Enqueues a task through this node's API; returns its id. */
export async function enqueueOn(node: FleetNode, queue: string, payload: unknown): Promise<string> {
  const response = await fetch(`${node.url}/api/v1/queues/${queue}/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FLEET_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload }),
  });
  if (response.status >= 300) throw new Error(`enqueueing on ${node.name}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Fleets started through `start` are destroyed after each test, passed or failed. */
export function useFleets(): { start(options: FleetOptions): Promise<Fleet> } {
  const started: Fleet[] = [];
  afterEach(async () => {
    for (const fleet of started.splice(0)) await fleet.destroy();
  });
  return {
    start: async (options) => {
      const fleet = await startFleet(options);
      started.push(fleet);
      return fleet;
    },
  };
}

/** Stops a node the way systemd does (SIGTERM) and waits for it to exit. */
export async function stopNode(node: FleetNode): Promise<void> {
  if (node.process.pid !== undefined && node.process.exitCode === null) node.process.kill('SIGTERM');
  await exited(node.process);
}
