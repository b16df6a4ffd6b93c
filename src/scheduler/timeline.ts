import { Cron } from 'croner';

/**
 * The fire times of one cron schedule, in its time zone. Pure: no timers, no clock of its own.
 *
 * Across DST changes croner behaves as cron users expect: a local time skipped by spring-forward fires at the
 * shifted instant (02:30 → 03:30 CEST), and a local time repeated by fall-back fires once.
 */
export class Timeline {
  private readonly cron: Cron;

  constructor(expression: string, timezone: string | null) {
    this.cron = sharedCron(expression, timezone);
  }

  /** The first fire strictly after `afterMs`, or null when the schedule never fires again. */
  nextAfter(afterMs: number): number | null {
    const next = this.cron.nextRun(new Date(afterMs));
    return next ? next.getTime() : null;
  }

  /**
   * Fires in (afterMs, untilMs], oldest first: the NEWEST `max` of them (the latest is the one a catch-up runs).
   * `total` counts them all, up to COUNT_CAP; `capped` says the count stopped there.
   */
  firesBetween(afterMs: number, untilMs: number, max: number): { fires: number[]; total: number; capped: boolean } {
    // With a time zone croner needs ~250 µs a fire, and a per-second schedule missed for weeks has millions: count up
    // to a cap, then collect the newest fires from a window that doubles back from `untilMs`.
    let total = 0;
    let cursor = afterMs;
    const fires: number[] = [];
    for (;;) {
      const next = this.nextAfter(cursor);
      if (next === null || next > untilMs) return { fires, total, capped: false };
      total += 1;
      fires.push(next);
      if (fires.length > max) fires.shift();
      cursor = next;
      if (total >= COUNT_CAP) break;
    }
    return { fires: this.newestBefore(Math.max(cursor, afterMs), untilMs, max), total, capped: true };
  }

  private newestBefore(floorMs: number, untilMs: number, max: number): number[] {
    for (let windowMs = 1_000; ; windowMs *= 2) {
      const from = Math.max(floorMs, untilMs - windowMs);
      const fires: number[] = [];
      for (let at = this.nextAfter(from); at !== null && at <= untilMs; at = this.nextAfter(at)) {
        fires.push(at);
        if (fires.length > max) fires.shift();
      }
      if (fires.length >= max || from === floorMs) return fires;
    }
  }
}

/** How many missed fires are counted one by one before the count says "at least" (bounds a start-up to ~0.25 s a job). */
export const COUNT_CAP = 1_000;

/**
 * One paused Cron per (expression, time zone), shared by every Timeline of it: croner 10 gives each pattern a
 * 10,000-entry year table (80 KB of heap), and a job's schedule is held twice (the scheduler and the job's check),
 * so 20 jobs held 3.2 MB in those tables alone (heap snapshot of the idle daemon, docs/benchmarks.md section 2).
 * Sharing is safe: nextRun(date) of a paused Cron reads its state and never changes it. Entries go with their Cron
 * once no Timeline holds it (a reload that changed the schedule).
 */
const crons = new Map<string, WeakRef<Cron>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (crons.get(key)?.deref() === undefined) crons.delete(key);
});

function sharedCron(expression: string, timezone: string | null): Cron {
  const key = `${timezone ?? ''}\n${expression}`;
  const cached = crons.get(key)?.deref();
  if (cached) return cached;
  const cron = new Cron(expression, { paused: true, mode: '5-or-6-parts', ...(timezone ? { timezone } : {}) });
  crons.set(key, new WeakRef(cron));
  forget.register(cron, key);
  return cron;
}
