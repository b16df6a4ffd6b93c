/**
 * Where work runs in a cluster of three real daemons:
 * - `jobs.X.node` pins a job: started through any node's API, or fired by whichever node leads, it runs on its node
 *   only — handed over through the queue, and the pinned node is woken by NOTIFY (in well under the 30 s fallback);
 * - a service runs on exactly one node at a time, and moves to another when its node dies (kill -9).
 */
import { expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { usePostgres } from '../helpers/postgres.ts';
import { enqueueOn, FLEET_TOKEN, triggerOn, useFleets } from './fleet.ts';
import { runCli } from '../helpers/cli.ts';
import type { StatusJson } from '../../src/status/build-status.ts';

const pg = usePostgres();
const fleets = useFleets();

it('a pinned job runs on its node wherever it is started; a service runs on one node and moves when that node dies', async () => {
  const schema = await pg.createSchema();
  const f = await fleets.start({
    dbUrl: schema.url,
    count: 3,
    extra: 'queues:\n  pages: { concurrency: 2 }\n  inbox: {}\n',
    jobs: `  page_worker:
    command: "true"
    queue: pages
    node: node-2
  pinned:
    command: "true"
    node: node-3
  pinned_tick:
    command: "true"
    schedule: "* * * * * *"
    node: node-3
  svc:
    command: "sleep 600"
    restart: always
  slow:
    command: "sleep 60"
  replacer:
    command: "sleep 60"
    overlap: replace
`,
  });

  // Started through node-1's API: queued for node-3, which NOTIFY wakes.
  const id = await triggerOn(f.node('node-1'), 'pinned');
  const ran = await waitFor(async () => {
    const run = await f.store.getRun(id);
    return run?.status === 'succeeded' ? run : null;
  }, 15_000, 'the pinned run to run');
  expect(ran.node).toBe('node-3');
  expect(Date.parse(ran.started_at!) - Date.parse(ran.scheduled_at), 'woken by NOTIFY, not by the 30 s fallback poll').toBeLessThan(5_000);
  // `run --wait` on node-1 follows the run to its end on node-3.
  const waitedFrom = Date.now();
  const waited = await runCli(['run', 'pinned', '--wait', '--json', '-c', f.configPath], { env: f.node('node-1').env });
  expect(waited.code, waited.stderr).toBe(0);
  expect(JSON.parse(waited.stdout)).toMatchObject({ status: 'succeeded', node: 'node-3' });
  expect(Date.now() - waitedFrom, 'the wait saw the end on another node promptly').toBeLessThan(8_000);

  const ticks = await waitFor(async () => {
    const runs = (await f.runs('pinned_tick')).filter((r) => r.status === 'succeeded');
    return runs.length >= 3 ? runs : null;
  }, 15_000, 'three fires of the pinned schedule');
  expect(new Set(ticks.map((r) => r.node))).toEqual(new Set(['node-3']));

  // A task enqueued through node-1 for a queue driven on node-2, where nothing else ends to poke its driver: NOTIFY
  // wakes it.
  const taskId = await enqueueOn(f.node('node-1'), 'pages', { page: 1 });
  const done = await waitFor(async () => {
    const task = await f.store.getTask(taskId);
    return task?.state === 'done' ? task : null;
  }, 15_000, 'the task to be done');
  const taskRun = (await f.runs('page_worker')).find((r) => r.id === done.run_id)!;
  expect(taskRun.node).toBe('node-2');
  expect(Date.parse(taskRun.started_at!) - Date.parse(done.created_at), 'woken by NOTIFY').toBeLessThan(5_000);

  // An SDK worker long-polling node-2 gets a task enqueued through node-1 as it comes, not at its poll's end.
  const polled = fetch(`${f.node('node-2').url}/api/v1/queues/inbox/claim`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FLEET_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ wait: '20s', lease: '30s' }),
  });
  await new Promise((resolve) => setTimeout(resolve, 300)); // the poll is waiting before the task exists
  const askedAt = Date.now();
  const inboxId = await enqueueOn(f.node('node-1'), 'inbox', { hello: 'world' });
  const claimed = (await (await polled).json()) as { id: string } | null;
  expect(claimed?.id).toBe(inboxId);
  expect(Date.now() - askedAt, 'the long-poll was woken by NOTIFY').toBeLessThan(5_000);

  // A cancel asked of node-1 for a run on node-2: node-2 is told, and kills it.
  const slowId = await triggerOn(f.node('node-2'), 'slow');
  f.runIds.push(slowId);
  await waitFor(async () => (await f.store.getRun(slowId))?.pid != null, 15_000, 'the slow run to start on node-2');
  const cancel = await fetch(`${f.node('node-1').url}/api/v1/runs/${slowId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKEN}` } });
  expect(cancel.status, await cancel.clone().text()).toBe(202);
  expect(await cancel.json()).toEqual({ run: slowId, cancelling: true, node: 'node-2' });
  const cancelled = await waitFor(async () => {
    const run = await f.store.getRun(slowId);
    return run?.status !== 'running' ? run : null;
  }, 10_000, 'the run to be cancelled on its node');
  expect(cancelled).toMatchObject({ status: 'killed', node: 'node-2' });

  // overlap: replace across nodes: a start on node-1 has node-2 kill its run (replaced), then runs once the lock is free.
  const firstId = await triggerOn(f.node('node-2'), 'replacer');
  f.runIds.push(firstId);
  await waitFor(async () => (await f.store.getRun(firstId))?.pid != null, 15_000, 'the first replacer run to start on node-2');
  const secondId = await triggerOn(f.node('node-1'), 'replacer');
  f.runIds.push(secondId);
  const replaced = await waitFor(async () => {
    const run = await f.store.getRun(firstId);
    return run?.status !== 'running' ? run : null;
  }, 10_000, 'the first run to be replaced');
  expect(replaced).toMatchObject({ status: 'killed', reason: 'replaced', node: 'node-2' });
  await waitFor(async () => (await f.store.getRun(secondId))?.status === 'running', 10_000, 'the replacing run to start');
  expect((await f.runs('replacer')).filter((r) => r.status === 'running').map((r) => r.id)).toEqual([secondId]);

  // The service: one run, on one node.
  const first = await waitFor(async () => (await f.runs('svc')).find((r) => r.status === 'running' && r.pid !== null), 15_000, 'the service to start');
  f.runIds.push(first.id);
  expect((await f.runs('svc')).filter((r) => r.status === 'running')).toHaveLength(1);
  const home = f.node(first.node!);
  home.process.kill('SIGKILL');
  const moved = await waitFor(async () => (await f.runs('svc')).find((r) => r.status === 'running' && r.node !== home.name && r.pid !== null), 30_000, `the service to move\n${f.output()}`);
  f.runIds.push(moved.id);
  expect((await f.store.getRun(first.id))!.status).toBe('lost');
  expect((await f.runs('svc')).filter((r) => r.status === 'running').map((r) => r.node)).toEqual([moved.node]);

  // `nightshift status` on any node: the nodes, who leads, where each run is.
  const asker = f.nodes.find((n) => n.name !== home.name)!;
  // Nodes as the asked node saw them at its last heartbeat (one heartbeat behind at most).
  const survivors = f.nodes.filter((n) => n !== home).map((n) => n.name).sort();
  const status = await waitFor(async () => {
    const json = await runCli(['status', '--json', '-c', f.configPath], { env: asker.env });
    expect(json.code, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout) as StatusJson;
    const seen = JSON.stringify(answer.nodes.map((n) => n.name).sort()) === JSON.stringify(survivors);
    return seen && answer.nodes.find((n) => n.name === moved.node)!.running >= 1 ? answer : null;
  }, 10_000, 'status to show the two live nodes, the service running on its new one');
  expect(status.daemon).toMatchObject({ node: asker.name, leader: asker.name === (await f.leader()) });
  expect(status.nodes.filter((n) => n.leader)).toHaveLength(1);
  expect(status.jobs.find((j) => j.name === 'svc')!.last_run).toMatchObject({ id: moved.id, node: moved.node });
  const text = await runCli(['status', '-c', f.configPath], { env: asker.env });
  expect(text.stdout).toMatch(new RegExp(`this node: ${asker.name} \\((leader|follower)\\)`));
  expect(text.stdout).toMatch(/NODE\s+ROLE\s+LAST SEEN\s+RUNNING/);
  expect(text.stdout).toMatch(new RegExp(`svc\\s+service\\s+running.*${moved.node}`));
  await schema.drop();
}, 120_000);
