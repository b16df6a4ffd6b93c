/**
 * A leader stopped cleanly (SIGTERM, as systemd or a rolling upgrade stops it) hands the lead over at once: another
 * node leads while the old one still waits out its runs' shutdown grace, so the schedules do not wait for it; its run
 * ends as a shutdown does and is retried on another node.
 */
import { expect, it } from 'vitest';
import { exited, runCli } from '../helpers/cli.ts';
import type { StatusJson } from '../../src/status/build-status.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { usePostgres } from '../helpers/postgres.ts';
import { triggerOn, useFleets } from './fleet.ts';

const pg = usePostgres();
const fleets = useFleets();

it('a leader stopping with SIGTERM hands over the lead before its shutdown grace is out', async () => {
  const schema = await pg.createSchema();
  const f = await fleets.start({
    dbUrl: schema.url,
    count: 2,
    jobs: `  long:
    command: 'if [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then sleep 60; else true; fi'
  tick:
    command: "true"
    schedule: "* * * * * *"
`,
  });
  const leader = f.node((await f.leader())!);
  const id = await triggerOn(leader, 'long');
  f.runIds.push(id);
  await waitFor(async () => (await f.store.getRun(id))?.pid != null, 15_000, 'the long run to start on the leader');

  leader.process.kill('SIGTERM');
  const next = await waitFor(async () => {
    const name = await f.leader().catch(() => null);
    return name !== null && name !== leader.name ? name : null;
  }, 15_000, 'the other node to lead');
  // Still waiting out shutdown_grace (2 s) for its run: the lead did not wait for that.
  expect(leader.process.exitCode, `the old leader exited before the lead moved\n${f.output()}`).toBeNull();
  const firedByNext = await waitFor(async () => (await f.runs('tick')).find((r) => r.node === next && r.status === 'succeeded'), 10_000, 'a fire by the new leader');
  expect(firedByNext).toBeDefined();

  await exited(leader.process);
  expect(leader.process.exitCode, f.output()).toBe(0);
  const stopped = await f.store.getRun(id);
  expect(stopped).toMatchObject({ status: 'killed', reason: 'shutdown' });
  const retried = await waitFor(async () => (await f.runs('long')).find((r) => r.chain_id === id && r.attempt === 2 && r.status === 'succeeded'), 15_000, 'the shutdown run to be retried on the other node');
  expect(retried.node).toBe(next);

  // `status` where this node's daemon is gone reads the store: no daemon here, the cluster's live node leading.
  const status = await runCli(['status', '--json', '-c', f.configPath], { env: leader.env });
  expect(status.code, status.stderr).toBe(0);
  const json = JSON.parse(status.stdout) as StatusJson;
  expect(json.daemon).toBeNull();
  expect(json.nodes).toEqual([{ name: next, leader: true, last_seen_at: expect.any(String), running: expect.any(Number) }]);
  await schema.drop();
}, 90_000);
