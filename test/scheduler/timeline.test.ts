import { describe, expect, it } from 'vitest';
import { Timeline, COUNT_CAP } from '../../src/scheduler/timeline.ts';

const at = (s: string) => Date.parse(s);
const isoList = (ms: number[]) => ms.map((m) => new Date(m).toISOString());

describe('Timeline', () => {
  it('reads 5-field cron as minute resolution and 6-field as seconds first', () => {
    expect(isoList([new Timeline('*/15 * * * *', 'UTC').nextAfter(at('2026-01-01T00:07:00Z'))!])).toEqual(['2026-01-01T00:15:00.000Z']);
    expect(isoList([new Timeline('*/10 * * * * *', 'UTC').nextAfter(at('2026-01-01T00:00:01Z'))!])).toEqual(['2026-01-01T00:00:10.000Z']);
  });

  it('fires strictly after the given instant', () => {
    const t = new Timeline('0 * * * *', 'UTC');
    expect(t.nextAfter(at('2026-01-01T01:00:00Z'))).toBe(at('2026-01-01T02:00:00Z'));
  });

  it('honours the time zone', () => {
    const t = new Timeline('0 9 * * *', 'Asia/Tokyo');
    expect(isoList([t.nextAfter(at('2026-06-01T00:00:00Z'))!])).toEqual(['2026-06-02T00:00:00.000Z']);
  });

  it('spring forward: a local time that does not exist fires once, at the shifted instant', () => {
    // Europe/Berlin skips 02:00–03:00 on 2026-03-29.
    const t = new Timeline('30 2 * * *', 'Europe/Berlin');
    const { fires } = t.firesBetween(at('2026-03-27T12:00:00Z'), at('2026-03-31T12:00:00Z'), 10);
    expect(isoList(fires)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: the skipped 02:30, run after the change
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('fall back: a repeated local hour fires once, not twice', () => {
    // Europe/Berlin repeats 02:00–03:00 on 2026-10-25 (00:00Z–01:00Z is 02:xx CEST, 01:00Z–02:00Z is 02:xx CET).
    const t = new Timeline('30 2 * * *', 'Europe/Berlin');
    const { fires } = t.firesBetween(at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z'), 10);
    expect(fires).toHaveLength(2);
    expect(isoList(fires)[1]).toMatch(/^2026-10-26T01:30:00/);
    const hourly = new Timeline('0 * * * *', 'Europe/Berlin');
    const day = hourly.firesBetween(at('2026-10-24T22:00:00Z'), at('2026-10-25T23:00:00Z'), 100);
    // 25 real hours pass on that day; every instant fires once and none twice.
    expect(new Set(day.fires).size).toBe(day.fires.length);
  });

  it('lists the newest fires of a long outage and counts all of them', () => {
    const t = new Timeline('*/10 * * * *', 'UTC');
    const { fires, total, capped } = t.firesBetween(at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), 3);
    expect(total).toBe(144);
    expect(capped).toBe(false);
    expect(isoList(fires)).toEqual(['2026-01-01T23:40:00.000Z', '2026-01-01T23:50:00.000Z', '2026-01-02T00:00:00.000Z']);
  });

  it('stops counting at the cap for a per-second schedule missed for weeks, and still finds the latest fire', () => {
    const t = new Timeline('* * * * * *', 'UTC');
    const { fires, total, capped } = t.firesBetween(at('2026-01-01T00:00:00Z'), at('2026-01-20T00:00:00Z'), 2);
    expect(capped).toBe(true);
    expect(total).toBe(COUNT_CAP);
    expect(isoList(fires)).toEqual(['2026-01-19T23:59:59.000Z', '2026-01-20T00:00:00.000Z']);
  });

  it('rejects 7-field expressions', () => {
    expect(() => new Timeline('* * * * * * *', 'UTC')).toThrow(/5 or 6/);
  });
});
