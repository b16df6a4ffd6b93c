/** Conformance: checks (synced from the config, created by pings), pings and their state transitions. */
import { describe, expect, it } from 'vitest';
import type { NewPing } from '../../../src/store/types.ts';
import { at, expectStoreError, type StoreContext } from './fixtures.ts';

const UUID_A = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const UUID_B = '0e1b6f5c-3f7a-4c1e-9a55-2a8f0f3d9b11';

function uuids(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

function ping(check: string, kind: NewPing['kind'], ms: number, extra: Partial<NewPing> = {}): NewPing {
  return { check, kind, exit_code: null, rid: null, body: null, at: at(ms), keep: 100, ...extra };
}

export function describeChecks(ctx: StoreContext): void {
  describe('checks', () => {
    it('syncs job and config checks: generated uuids are kept, fixed ones applied, removed ones deleted', async () => {
      const gen = uuids();
      const first = await ctx.store.syncChecks(
        [
          { name: 'scan', origin: 'job', uuid: null },
          { name: 'backup', origin: 'config', uuid: UUID_A },
        ],
        at(0),
        gen,
      );
      expect(first.map((c) => [c.name, c.uuid, c.origin, c.status])).toEqual([
        ['backup', UUID_A, 'config', 'new'],
        ['scan', '00000000-0000-4000-8000-000000000001', 'job', 'new'],
      ]);
      const again = await ctx.store.syncChecks([{ name: 'scan', origin: 'job', uuid: null }], at(1000), gen);
      expect(again.map((c) => [c.name, c.uuid])).toEqual([['scan', '00000000-0000-4000-8000-000000000001']]);
      expect(await ctx.store.findCheckByUuid(UUID_A)).toBeNull();
      const fixed = await ctx.store.syncChecks([{ name: 'scan', origin: 'job', uuid: UUID_B }], at(2000), gen);
      expect(fixed[0]?.uuid).toBe(UUID_B);
      expect((await ctx.store.findCheckByUuid(UUID_B))?.name).toBe('scan');
    });

    it('refuses a fixed uuid that another check already has', async () => {
      await ctx.store.syncChecks([{ name: 'a', origin: 'config', uuid: UUID_A }], at(0), uuids());
      await expectStoreError(
        ctx.store.syncChecks(
          [
            { name: 'a', origin: 'config', uuid: UUID_A },
            { name: 'b', origin: 'config', uuid: UUID_A },
          ],
          at(0),
          uuids(),
        ),
        'conflict',
      );
    });

    it('keeps checks created by pings across syncs, and returns the existing one for a taken name', async () => {
      const made = await ctx.store.createCheck({ name: 'nightly', uuid: UUID_A, every_ms: 86_400_000, grace_ms: 3_600_000, at: at(0) });
      expect(made).toMatchObject({ name: 'nightly', origin: 'created', status: 'new', every_ms: 86_400_000 });
      await ctx.store.syncChecks([], at(1), uuids());
      expect(await ctx.store.getCheck('nightly')).toEqual(made);
      expect(await ctx.store.createCheck({ name: 'nightly', uuid: UUID_B, every_ms: 1, grace_ms: 1, at: at(2) })).toEqual(made);
    });

    it('moves through start, success, fail and exit pings, pairing ends with starts by rid', async () => {
      await ctx.store.syncChecks([{ name: 'c', origin: 'config', uuid: UUID_A }], at(0), uuids());
      const started = await ctx.store.recordPing(ping('c', 'start', 1000, { rid: 'r1' }));
      expect(started.before.status).toBe('new');
      expect(started.after).toMatchObject({ status: 'new', last_start_at: at(1000), last_start_rid: 'r1' });
      await ctx.store.recordPing(ping('c', 'start', 2000, { rid: 'r2' }));
      const r1 = await ctx.store.recordPing(ping('c', 'success', 6000, { rid: 'r1', body: 'done' }));
      expect(r1.ping.duration_ms).toBe(5000);
      expect(r1.after).toMatchObject({ status: 'up', last_success_at: at(6000), last_start_rid: 'r2' });
      const r2 = await ctx.store.recordPing(ping('c', 'exit', 9000, { rid: 'r2', exit_code: 3 }));
      expect(r2.ping.duration_ms).toBe(7000);
      expect(r2.after).toMatchObject({ status: 'down', down_since: at(9000), last_start_at: null });
      const log = await ctx.store.recordPing(ping('c', 'log', 9500, { body: 'note' }));
      expect(log.after).toEqual(r2.after);
      const ok = await ctx.store.recordPing(ping('c', 'exit', 10_000, { exit_code: 0 }));
      expect(ok.after).toMatchObject({ status: 'up', down_since: null, last_ping_at: at(10_000) });
      const pings = await ctx.store.listPings('c', 10);
      expect(pings.map((p) => p.kind)).toEqual(['exit', 'log', 'exit', 'success', 'start', 'start']);
      expect(pings[3]).toMatchObject({ body: 'done', rid: 'r1' });
    });

    it('keeps only the newest `keep` pings of a check', async () => {
      await ctx.store.syncChecks([{ name: 'c', origin: 'config', uuid: null }], at(0), uuids());
      for (let i = 0; i < 12; i++) await ctx.store.recordPing(ping('c', 'success', i * 10, { keep: 5, body: String(i) }));
      expect((await ctx.store.listPings('c', 100)).map((p) => p.body)).toEqual(['11', '10', '9', '8', '7']);
    });

    it('marks down only from new or up, and pauses and resumes', async () => {
      await ctx.store.syncChecks([{ name: 'c', origin: 'job', uuid: null }], at(0), uuids());
      expect(await ctx.store.markCheckDown('c', at(500))).toMatchObject({ status: 'down', down_since: at(500) });
      expect(await ctx.store.markCheckDown('c', at(600))).toBeNull();
      const paused = await ctx.store.setCheckPaused('c', true, at(700));
      expect(paused).toMatchObject({ status: 'paused', down_since: null });
      expect(await ctx.store.markCheckDown('c', at(800))).toBeNull();
      expect(await ctx.store.setCheckPaused('c', false, at(900))).toMatchObject({ status: 'new', resumed_at: at(900) });
      await expectStoreError(ctx.store.setCheckPaused('nope', true, at(0)), 'not_found');
    });

    it('unpauses a check on a start or end ping, not on a log ping', async () => {
      await ctx.store.syncChecks([{ name: 'c', origin: 'config', uuid: null }], at(0), uuids());
      await ctx.store.setCheckPaused('c', true, at(1));
      expect((await ctx.store.recordPing(ping('c', 'log', 2))).after.status).toBe('paused');
      expect((await ctx.store.recordPing(ping('c', 'success', 3))).after.status).toBe('up');
    });

    it('throws not_found for a ping to an unknown check', async () => {
      await expectStoreError(ctx.store.recordPing(ping('ghost', 'success', 0)), 'not_found');
    });

    it('records run heartbeats only while the run is running', async () => {
      expect(await ctx.store.recordHeartbeat('01ARZ3NDEKTSV4RRFFQ69G5FAV', at(0))).toBe(false);
    });
  });
}
