/** Conformance: per-job state (paused, last fire), created on demand. */
import { describe, expect, it } from 'vitest';
import { at, type StoreContext } from './fixtures.ts';

/** The scheduler's record of the fire of job `scan` at `ms`, and the job lock a started fire runs under. */
const fire = (id: string, ms: number) => ({
  id,
  job: 'scan',
  attempt: 1,
  chain_id: id,
  trigger: 'schedule' as const,
  scheduled_at: at(ms),
  node: 'n1',
  fire: true,
});
const lock = (id: string) => ({ name: 'job:scan', holder: { token: id, run_id: id, pid: 1, pid_start: null, node: 'n1' } });

export function describeJobState(ctx: StoreContext): void {
  describe('job state', () => {
    it('lists no cluster nodes before any joined (on SQLite, never)', async () => {
      expect(await ctx.store.listNodes()).toEqual([]);
    });

    it('reads defaults for a job it has never seen, without creating it', async () => {
      expect(await ctx.store.getJobState('scan')).toEqual({ job: 'scan', paused: false, last_fire_at: null, hold: null });
      expect(await ctx.store.listJobStates()).toEqual([]);
    });

    it('keeps paused and last fire independently', async () => {
      await ctx.store.setPaused('scan', true);
      await ctx.store.setLastFire('scan', at(60_000));
      await ctx.store.setLastFire('writer', at(120_000));
      expect(await ctx.store.getJobState('scan')).toEqual({ job: 'scan', paused: true, last_fire_at: at(60_000), hold: null });

      await ctx.store.setPaused('scan', false);
      await ctx.store.setLastFire('scan', at(180_000));
      expect(await ctx.store.listJobStates()).toEqual([
        { job: 'scan', paused: false, last_fire_at: at(180_000), hold: null },
        { job: 'writer', paused: false, last_fire_at: at(120_000), hold: null },
      ]);
    });

    it('moves the fire cursor with the run that records a fire, whichever way it is recorded', async () => {
      await ctx.store.insertRun(fire('01F0000000000000000000000A', 60_000), {
        status: 'skipped',
        reason: 'missed',
        exit_code: null,
        signal: null,
        ended_at: at(61_000),
      });
      expect((await ctx.store.getJobState('scan')).last_fire_at).toBe(at(60_000));
      await ctx.store.startRun(fire('01F0000000000000000000000B', 120_000), lock('01F0000000000000000000000B'), at(120_500));
      expect((await ctx.store.getJobState('scan')).last_fire_at).toBe(at(120_000));
      // A run that is not a fire (manual, retry) leaves the cursor alone.
      await ctx.store.insertRun({ ...fire('01F0000000000000000000000C', 180_000), fire: false }, { status: 'queued' });
      expect((await ctx.store.getJobState('scan')).last_fire_at).toBe(at(120_000));
    });

    it('records each fire once: a fire at or before the cursor is refused with fire_taken and writes nothing', async () => {
      await ctx.store.insertRun(fire('01F0000000000000000000000D', 60_000), { status: 'queued' });
      // The same fire again (a second node, or a leader that has not noticed it lost the lead), each way it records one.
      await expect(ctx.store.insertRun(fire('01F0000000000000000000000E', 60_000), { status: 'queued' })).rejects.toMatchObject({ code: 'fire_taken' });
      await expect(ctx.store.startRun(fire('01F0000000000000000000000F', 60_000), lock('01F0000000000000000000000F'), at(60_100))).rejects.toMatchObject({
        code: 'fire_taken',
      });
      // An older fire, after a newer one was recorded.
      await expect(
        ctx.store.insertRun(fire('01F0000000000000000000000G', 30_000), { status: 'skipped', reason: 'missed', exit_code: null, signal: null, ended_at: at(61_000) }),
      ).rejects.toMatchObject({ code: 'fire_taken' });
      expect((await ctx.store.listRuns({ job: 'scan' })).map((r) => r.id)).toEqual(['01F0000000000000000000000D']);
      expect(await ctx.store.getLock('job:scan')).toBeNull();
      expect((await ctx.store.getJobState('scan')).last_fire_at).toBe(at(60_000));
      // The next fire goes through.
      await ctx.store.insertRun(fire('01F0000000000000000000000H', 61_000), { status: 'queued' });
      expect((await ctx.store.getJobState('scan')).last_fire_at).toBe(at(61_000));
    });
  });
}
