/**
 * Three daemons on one PostgreSQL schema fire a per-second schedule: every fire is run exactly once across the fleet,
 * by the leader; `kill -9` of the leader gives a new leader within the failover bound (dead_after + heartbeat) and no
 * fire is ever recorded twice — the ones that fell in the gap are recorded missed (catch_up: none), not dropped.
 */
import { expect, it } from 'vitest';
import type { Run } from '../../src/store/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { usePostgres } from '../helpers/postgres.ts';
import { useFleets, TEST_CLUSTER } from './fleet.ts';
import { parseDuration } from '../../src/config/units.ts';

const pg = usePostgres();
const fleets = useFleets();

/** Each fire's records by its second; a fire recorded twice shows as two. */
function bySecond(runs: Run[]): Map<number, Run[]> {
  const fires = new Map<number, Run[]>();
  for (const run of runs.filter((r) => r.trigger === 'schedule' || r.trigger === 'catch_up' || r.reason === 'missed')) {
    const at = Date.parse(run.scheduled_at) / 1000;
    fires.set(at, [...(fires.get(at) ?? []), run]);
  }
  return fires;
}

// One retry: about one run in six (2026-12-06, the cluster pass alone on 2 cores) saw the leader's next fire wait past
// a second once, so it came due with the one after and was recorded missed — a liveness hiccup, not a double fire. The
// likely cause, fixed since (scheduler.ts arm()): the next fire was armed only after a read of the queued runs, which a
// loaded database can take a second to answer. The retry stays for a machine loaded beyond that. A double fire cannot
// come from such a stall: the fire cursor refuses a second record of any second (the store conformance suite and the
// failover benchmark's ~200 rounds check that on their own).
it('three nodes run every fire of a per-second schedule exactly once for 30 s; kill -9 of the leader never fires twice', { retry: 1, timeout: 240_000 }, async () => {
  const schema = await pg.createSchema();
  const f = await fleets.start({
    dbUrl: schema.url,
    count: 3,
    jobs: `  tick:
    command: "true"
    schedule: "* * * * * *"
`,
  });
  const firstLeader = (await f.leader())!;

  // 30 s of a steady fleet.
  const steadyFrom = Math.ceil(Date.now() / 1000) + 1;
  const steadyTo = steadyFrom + 30;
  await waitFor(async () => (await f.runs('tick')).some((r) => Date.parse(r.scheduled_at) / 1000 >= steadyTo + 1 && r.status !== 'queued' && r.status !== 'running'), 60_000, 'thirty seconds of fires');
  const steady = bySecond(await f.runs('tick'));
  for (let at = steadyFrom; at <= steadyTo; at++) {
    const records = steady.get(at) ?? [];
    expect(records.map((r) => r.status), `the fire at ${new Date(at * 1000).toISOString()}\n${f.output()}`).toEqual(['succeeded']);
    expect(records[0]!.node).toBe(firstLeader);
  }

  // kill -9 of the leader: another takes over within the bound, and goes on firing.
  const killedAt = Date.now();
  f.node(firstLeader).process.kill('SIGKILL');
  const next = await waitFor(async () => {
    const leader = await f.leader();
    return leader !== null && leader !== firstLeader ? leader : null;
  }, 20_000, 'a new leader');
  const firstRunByNewLeader = await waitFor(
    async () => (await f.runs('tick')).filter((r) => r.node === next && r.status === 'succeeded').sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at))[0],
    20_000,
    'a fire run by the new leader',
  );
  const bound = parseDuration(TEST_CLUSTER.dead_after) + parseDuration(TEST_CLUSTER.heartbeat);
  expect(Date.parse(firstRunByNewLeader.started_at!) - killedAt, 'the new leader fired within dead_after + heartbeat').toBeLessThan(bound + 1000);
  const resumedAt = Date.parse(firstRunByNewLeader.scheduled_at) / 1000;
  await waitFor(async () => (await f.runs('tick')).some((r) => Date.parse(r.scheduled_at) / 1000 >= resumedAt + 5 && r.status === 'succeeded'), 20_000, 'five more fires');

  const all = bySecond(await f.runs('tick'));
  const seconds = [...all.keys()].sort((a, b) => a - b);
  for (const at of seconds) {
    expect(all.get(at)!.length, `fire ${new Date(at * 1000).toISOString()} recorded once`).toBe(1);
  }
  // From the first steady fire to the last one seen, no second is missing: each was run or recorded missed.
  for (let at = steadyFrom; at <= resumedAt + 5; at++) expect(all.has(at), `fire ${new Date(at * 1000).toISOString()} on record`).toBe(true);
  const ranTwice = [...all.values()].filter((records) => records.filter((r) => r.status !== 'skipped').length > 1);
  expect(ranTwice).toEqual([]);
  await schema.drop();
});
