/**
 * Where work runs in a cluster of three real daemons:
 * - `jobs.X.node` pins a job: started through any node's API, or fired by whichever node leads, it runs on its node
 *   only — handed over through the queue, and the pinned node is woken by NOTIFY (in well under the 30 s fallback);
 * - a service runs on exactly one node at a time, and moves to another when its node dies (kill -9).
 */
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { usePostgres } from '../helpers/postgres.ts';
import { startFleet, triggerOn, type Fleet } from './fleet.ts';

const pg = usePostgres();
let fleet: Fleet | null = null;
const runIds: string[] = [];
afterEach(async () => {
  await fleet?.destroy(runIds.splice(0));
  fleet = null;
});

it('a pinned job runs on its node wherever it is started; a service runs on one node and moves when that node dies', async () => {
  const schema = await pg.createSchema();
  fleet = await startFleet({
    dbUrl: schema.url,
    count: 3,
    jobs: `  pinned:
    command: "true"
    node: node-3
  pinned_tick:
    command: "true"
    schedule: "* * * * * *"
    node: node-3
  svc:
    command: "sleep 600"
    restart: always
`,
  });
  const f = fleet;

  // Started through node-1's API: queued for node-3, which NOTIFY wakes.
  const id = await triggerOn(f.node('node-1'), 'pinned');
  const ran = await waitFor(async () => {
    const run = await f.store.getRun(id);
    return run?.status === 'succeeded' ? run : null;
  }, 15_000, 'the pinned run to run');
  expect(ran.node).toBe('node-3');
  expect(Date.parse(ran.started_at!) - Date.parse(ran.scheduled_at), 'woken by NOTIFY, not by the 30 s fallback poll').toBeLessThan(5_000);
  const ticks = await waitFor(async () => {
    const runs = (await f.runs('pinned_tick')).filter((r) => r.status === 'succeeded');
    return runs.length >= 3 ? runs : null;
  }, 15_000, 'three fires of the pinned schedule');
  expect(new Set(ticks.map((r) => r.node))).toEqual(new Set(['node-3']));

  // The service: one run, on one node.
  const first = await waitFor(async () => (await f.runs('svc')).find((r) => r.status === 'running' && r.pid !== null), 15_000, 'the service to start');
  runIds.push(first.id);
  expect((await f.runs('svc')).filter((r) => r.status === 'running')).toHaveLength(1);
  const home = f.node(first.node!);
  home.process.kill('SIGKILL');
  const moved = await waitFor(async () => (await f.runs('svc')).find((r) => r.status === 'running' && r.node !== home.name && r.pid !== null), 30_000, `the service to move\n${f.output()}`);
  runIds.push(moved.id);
  expect((await f.store.getRun(first.id))!.status).toBe('lost');
  expect((await f.runs('svc')).filter((r) => r.status === 'running').map((r) => r.node)).toEqual([moved.node]);
  await schema.drop();
}, 120_000);
