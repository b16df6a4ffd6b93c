/**
 * The database restarts under three nodes (`pg_ctl stop -m fast`, as an operator's restart or a failover does it,
 * then started again): no node exits, a run that was running on a follower keeps running and is recorded when it
 * ends (no node is declared dead for the outage: the leader waits dead_after on its new session before judging), a
 * leader is elected again and the per-second schedule goes on — each fire recorded once, run or recorded missed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { useFleets, triggerOn, TEST_CLUSTER } from './fleet.ts';
import { parseDuration } from '../../src/config/units.ts';

let cluster: PrivatePostgres | null = null;
const fleets = useFleets();
let scratch = '';
afterEach(() => {
  cluster?.destroy();
  cluster = null;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('three nodes ride out a database restart: none exits, a running run is kept, a leader is back and fires go on once each', async () => {
  cluster = await startPrivatePostgres();
  scratch = mkdtempSync(join(tmpdir(), 'nightshift-dbrestart-'));
  const go = join(scratch, 'go');
  const f = await fleets.start({
    dbUrl: cluster.url,
    count: 3,
    jobs: `  tick:
    command: "true"
    schedule: "* * * * * *"
  long:
    command: 'while [ ! -f "${go}" ]; do sleep 0.05; done'
`,
  });
  const leader = await f.leader();
  const onFollower = f.nodes.find((n) => n.name !== leader)!;
  const longId = await triggerOn(onFollower, 'long');
  f.runIds.push(longId);
  await waitFor(async () => (await f.store.getRun(longId))?.pid != null, 15_000, 'the long run to start');

  cluster.stop();
  // Longer than dead_after: every heartbeat row is stale by the time the database is back.
  const outageMs = parseDuration(TEST_CLUSTER.dead_after) + 1000;
  await new Promise((resolve) => setTimeout(resolve, outageMs)); // the outage itself is the condition under test
  const restartedAt = Date.now();
  cluster.start();

  await waitFor(async () => (await f.leader().catch(() => null)) !== null, 30_000, `a leader after the restart\n${f.output()}`);
  await waitFor(
    async () => (await f.runs('tick').catch(() => [])).some((r) => r.status === 'succeeded' && Date.parse(r.scheduled_at) > restartedAt + 2000),
    30_000,
    'fires to go on after the restart',
  );
  // Past dead_after on the leader's new session: had it judged the stale rows, the follower would be dead by now.
  await new Promise((resolve) => setTimeout(resolve, parseDuration(TEST_CLUSTER.dead_after) + 1000));
  expect((await f.store.getRun(longId))!.status, f.output()).toBe('running');
  expect((await f.rows()).filter((r) => !r.dead).map((r) => r.name).sort()).toEqual(f.nodes.map((n) => n.name).sort());
  for (const node of f.nodes) expect(node.process.exitCode, `${node.name} exited\n${f.output()}`).toBeNull();

  writeFileSync(go, '');
  const ended = await waitFor(async () => {
    const run = await f.store.getRun(longId);
    return run?.status !== 'running' ? run : null;
  }, 15_000, 'the long run to end');
  expect(ended.status).toBe('succeeded');
  expect(ended.node).toBe(onFollower.name);

  const fires = (await f.runs('tick')).map((r) => Date.parse(r.scheduled_at) / 1000).sort((a, b) => a - b);
  expect(new Set(fires).size, 'a fire recorded twice').toBe(fires.length);
  expect(fires.at(-1)! - fires[0]! + 1, 'a fire missing from the record').toBe(fires.length);
}, 120_000);
