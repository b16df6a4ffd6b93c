/**
 * Node failover with fencing, on three real daemons sharing one PostgreSQL schema:
 * - `kill -9` of a node mid-run: once its heartbeat is dead_after old, the leader marks the run lost (`node_lost`),
 *   kills what it left on this host, and its retry runs on another node;
 * - SIGSTOP of a node mid-run, past dead_after, then SIGCONT: its run was lost and retried elsewhere meanwhile; the
 *   returning node finds itself declared dead, cannot record the end of the run it lost (it stays `lost`, retried
 *   once), and joins again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { usePostgres } from '../helpers/postgres.ts';
import { useFleets, triggerOn } from './fleet.ts';
import { alive } from '../helpers/cli.ts';

const pg = usePostgres();
const fleets = useFleets();
let scratch = '';
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('a node killed mid-run or stopped past dead_after loses its run to a retry on another node, and cannot finish it when it returns', async () => {
  const schema = await pg.createSchema();
  scratch = mkdtempSync(join(tmpdir(), 'nightshift-failover-'));
  const f = await fleets.start({
    dbUrl: schema.url,
    count: 3,
    jobs: `  long:
    command: 'if [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then sleep 60; else true; fi'
    retries: { max: 2, backoff: 1s }
  short:
    command: "sleep 1"
    retries: { max: 2, backoff: 1s }
`,
  });
  const leader = (await f.leader())!;
  const [victim, stopped] = f.nodes.filter((n) => n.name !== leader);

  // kill -9 of a node while its run runs.
  const longId = await triggerOn(victim!, 'long');
  f.runIds.push(longId);
  const running = await waitFor(async () => {
    const run = await f.store.getRun(longId);
    return run?.status === 'running' && run.pid !== null ? run : null;
  }, 15_000, 'the long run to start on its node');
  expect(running.node).toBe(victim!.name);
  victim!.process.kill('SIGKILL');
  const lost = await waitFor(async () => {
    const run = await f.store.getRun(longId);
    return run?.status === 'lost' ? run : null;
  }, 20_000, `the run of the killed node to be marked lost\n${f.output()}`);
  expect(lost.reason).toBe('node_lost');
  const retried = await waitFor(async () => (await f.runs('long')).find((r) => r.chain_id === longId && r.attempt === 2 && r.status === 'succeeded'), 20_000, 'the retry to succeed');
  f.runIds.push(retried.id);
  expect(retried.node).not.toBe(victim!.name);
  // On a shared host the leader kills what the dead node left running (on another host there is nothing here to kill).
  await waitFor(() => !alive(running.pid!), 10_000, 'the dead node’s leftover process to be killed');
  expect((await f.rows()).map((r) => r.name)).not.toContain(victim!.name);

  // SIGSTOP of a node mid-run, past dead_after; its child ends while it is stopped.
  const shortId = await triggerOn(stopped!, 'short');
  f.runIds.push(shortId);
  await waitFor(async () => (await f.store.getRun(shortId))?.pid != null, 15_000, 'the short run to start');
  expect((await f.store.getRun(shortId))!.node).toBe(stopped!.name);
  stopped!.process.kill('SIGSTOP');
  const taken = await waitFor(async () => {
    const run = await f.store.getRun(shortId);
    return run?.status === 'lost' ? run : null;
  }, 20_000, 'the stopped node’s run to be marked lost');
  expect(taken.reason).toBe('node_lost');
  const elsewhere = await waitFor(async () => (await f.runs('short')).find((r) => r.chain_id === shortId && r.attempt === 2 && r.status === 'succeeded'), 20_000, 'the retry to succeed elsewhere');
  expect(elsewhere.node).toBe(leader);

  stopped!.process.kill('SIGCONT');
  await waitFor(() => /declared dead while it was away/.test(stopped!.process.output()), 15_000, 'the returning node to find itself declared dead');
  await waitFor(async () => (await f.rows()).some((r) => r.name === stopped!.name && !r.dead), 15_000, 'the returning node to join again');
  await waitFor(() => /taken from this node while it was away/.test(stopped!.process.output()), 15_000, `the returning node to try to record the run it lost\n${stopped!.process.output()}`);
  // It did not complete what it lost: still lost, retried once, nothing more.
  expect((await f.store.getRun(shortId))!.status).toBe('lost');
  expect((await f.runs('short')).filter((r) => r.chain_id === shortId).map((r) => `${r.attempt}:${r.status}`).sort()).toEqual(['1:lost', '2:succeeded']);
  expect(stopped!.process.exitCode).toBeNull();
  await schema.drop();
}, 120_000);
