/** The host-findings cache: doctor runs at most once per period, never on every page view, and a failure is a finding. */
import { describe, expect, it } from 'vitest';
import { HostFindingsCache } from '../../src/dashboard/host-findings.ts';

describe('HostFindingsCache', () => {
  it('answers null when doctor is not available', async () => {
    expect(await new HostFindingsCache(null).findings()).toBeNull();
  });

  it('never makes a page wait: runs doctor once per period in the background, serving the cached answer', async () => {
    let now = 1_000_000;
    let calls = 0;
    let release: () => void = () => undefined;
    const cache = new HostFindingsCache(
      async () => {
        calls += 1;
        if (calls === 2) await new Promise<void>((r) => (release = r));
        return { findings: [{ id: 'swap.none', severity: 'warning', title: `look ${calls}`, detail: '', fix: 'add swap' }] };
      },
      { everyMs: 60_000, now: () => now },
    );
    // A page never waits: the first view gets "under way", and the look runs behind it.
    expect(await cache.findings()).toEqual({ checked_at: null, findings: [] });
    await cache.settled();
    expect((await cache.findings())?.findings[0]?.title).toBe('look 1');
    for (let i = 0; i < 10; i++) await cache.findings();
    expect(calls).toBe(1);
    now += 60_000;
    // Stale: the old answer at once, one refresh running behind it (not one per view).
    expect((await cache.findings())?.findings[0]?.title).toBe('look 1');
    expect((await cache.findings())?.findings[0]?.title).toBe('look 1');
    expect(calls).toBe(2);
    release();
    await cache.settled();
    expect((await cache.findings())?.findings[0]?.title).toBe('look 2');
  });

  it('reports a failing doctor as a finding instead of failing the page', async () => {
    let fresh = 0;
    const cache = new HostFindingsCache(async () => Promise.reject(new Error('no /proc')), { everyMs: 1000, now: () => 0, onFresh: () => fresh++ });
    await cache.findings();
    await cache.settled();
    expect(fresh).toBe(1);
    expect((await cache.findings())?.findings).toEqual([expect.objectContaining({ id: 'doctor.failed', detail: 'no /proc' })]);
  });
});
