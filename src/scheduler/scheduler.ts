import type { JobConfig } from '../config/types.ts';
import type { Store } from '../store/types.ts';
import { isStoreError } from '../store/errors.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';
import type { Dispatcher } from './dispatcher.ts';
import { Timeline } from './timeline.ts';

/** No single wait is longer than this, so a suspend or a wall-clock jump is noticed within it (croner does the same). */
/** How soon a queued run that is due but did not start is looked at again (see arm()). */
const DUE_RECHECK_MS = 1000;

export const MAX_WAIT_MS = 30_000;
/** A fire acted on later than this after its time (while the daemon was up) is treated as missed, like downtime. */
export const ON_TIME_TOLERANCE_MS = 60_000;
/** Missed fires recorded one by one per job and tick; beyond it the log says how many more there were. */
export const MAX_MISSED_RECORDS = 100;

export interface SchedulerDeps {
  store: Store;
  dispatcher: Dispatcher;
  logger: Logger;
  jobs: () => Readonly<Record<string, JobConfig>>;
  /** When this daemon started: fires before it happened while nobody was scheduling. */
  startedAtMs: number;
  /**
   * Whether this node fires schedules now (the cluster's leader; always on SQLite). A node that does not lead still
   * ticks: it starts the queued runs that are due.
   */
  leading?: () => boolean;
  now?: () => number;
}

interface ScheduledJob {
  key: string;
  timeline: Timeline;
}

/**
 * Fires schedules. One timer, set to the next due moment (the nearest fire or queued retry), never longer than
 * MAX_WAIT_MS; no polling loop.
 *
 * Each job has a cursor: the last fire acted on, kept in the store, so fires that fell in a downtime are found at the
 * next start and handled by `catch_up` — the latest one run (`trigger: catch_up`) or not, every other one recorded as
 * a skipped run with `reason: missed`. Nothing is silently dropped.
 */
export class Scheduler {
  private readonly deps: SchedulerDeps;
  private readonly now: () => number;
  private readonly timelines = new Map<string, ScheduledJob>();
  private readonly cursors = new Map<string, number>();
  /** Jobs whose last fire failed to record: their stored cursor is read back before they fire again. */
  private readonly unsure = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** Ticks failed in a row (a store outage fails one every second for a per-second job): logged once per spell. */
  private failedTicks = 0;
  private stopped = false;
  /** Fires before this were while this scheduler was not firing: handled by `catch_up`, not run as on time. */
  private firingSinceMs: number;
  /** When the loop last ran, for the daemon's own health check. */
  lastTickAt = Date.now();

  constructor(deps: SchedulerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.firingSinceMs = deps.startedAtMs;
  }

  async start(): Promise<void> {
    await this.readCursors();
    this.syncTimelines();
    // A run that ends may have queued a retry due sooner than the armed timer: re-arm on every new queued run.
    this.deps.dispatcher.events.on('run:ended', this.onRunsChanged);
    this.deps.dispatcher.events.on('run:queued', this.onRunsChanged);
    await this.tick();
  }

  /**
   * This node has just become the cluster's leader: the fire cursors are read again (the last leader moved them), and
   * fires from `sinceMs` on count as on time — the failover bound, so a fire the dead leader could not run in time runs
   * now; earlier ones are `catch_up`'s.
   */
  async lead(sinceMs: number): Promise<void> {
    await this.ticking;
    this.firingSinceMs = sinceMs;
    this.cursors.clear();
    await this.readCursors();
    this.wake();
  }

  private async readCursors(): Promise<void> {
    const states = new Map((await this.deps.store.listJobStates()).map((s) => [s.job, s]));
    for (const [name, job] of Object.entries(this.deps.jobs())) {
      if (!job.schedule) continue;
      const saved = states.get(name)?.last_fire_at;
      await this.adoptCursor(name, saved ? Date.parse(saved) : null);
    }
  }

  private readonly onRunsChanged = (): void => this.wake();

  /** Applies a new config: schedules are rebuilt; a new job starts counting from now, not from the epoch. */
  async reload(): Promise<void> {
    for (const [name, job] of Object.entries(this.deps.jobs())) {
      if (job.schedule && !this.cursors.has(name)) {
        const state = await this.deps.store.getJobState(name);
        await this.adoptCursor(name, state.last_fire_at ? Date.parse(state.last_fire_at) : null);
      }
    }
    this.syncTimelines();
    this.wake();
  }

  /** Runs a tick now (after a manual start or a run's end, when queued work may be due). */
  wake(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.dispatcher.events.off('run:ended', this.onRunsChanged);
    this.deps.dispatcher.events.off('run:queued', this.onRunsChanged);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
  }

  /** The next fire of a scheduled job (for status), or null. */
  nextFireAt(job: string): number | null {
    const scheduled = this.timelines.get(job);
    const cursor = this.cursors.get(job);
    if (!scheduled || cursor === undefined) return null;
    return scheduled.timeline.nextAfter(Math.max(cursor, this.now()));
  }

  private async adoptCursor(job: string, saved: number | null): Promise<void> {
    if (saved !== null) {
      this.cursors.set(job, saved);
      return;
    }
    const now = this.now();
    this.cursors.set(job, now);
    await this.deps.store.setLastFire(job, iso(now));
  }

  private syncTimelines(): void {
    const jobs = this.deps.jobs();
    for (const name of [...this.timelines.keys()]) if (!jobs[name]?.schedule) this.timelines.delete(name);
    for (const [name, job] of Object.entries(jobs)) {
      if (!job.schedule) continue;
      const key = `${job.schedule}\u0000${job.timezone ?? ''}`;
      if (this.timelines.get(name)?.key !== key) this.timelines.set(name, { key, timeline: new Timeline(job.schedule, job.timezone) });
    }
  }

  private tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      try {
        const now = this.now();
        this.lastTickAt = now;
        const jobs = this.deps.jobs();
        if (this.firing()) {
          for (const [name, scheduled] of this.timelines) {
            const job = jobs[name];
            if (job) await this.fireDue(job, scheduled.timeline, now);
          }
        }
        await this.deps.dispatcher.pump();
        if (this.failedTicks > 0) this.deps.logger.info({ failed_ticks: this.failedTicks }, 'scheduler ticks work again');
        this.failedTicks = 0;
      } catch (error) {
        if (this.failedTicks++ === 0) this.deps.logger.error({ err: error }, 'scheduler tick failed; trying again shortly (said once until a tick works)');
        else this.deps.logger.debug({ err: error, failed_ticks: this.failedTicks }, 'scheduler tick failed again');
      } finally {
        this.ticking = null;
        if (!this.stopped) await this.arm();
      }
    })();
    return this.ticking;
  }

  private firing(): boolean {
    return this.deps.leading?.() ?? true;
  }

  private async fireDue(job: JobConfig, timeline: Timeline, now: number): Promise<void> {
    try {
      await this.fireDueOnce(job, timeline, now);
    } catch (error) {
      if (!isStoreError(error, 'fire_taken')) throw error;
      // Another node recorded this fire (it led a moment ago, or still thinks it does): it is done, once. The stored
      // cursor says how far; this scheduler goes on from there.
      this.deps.logger.info({ job: job.name }, `a fire of ${job.name} was already recorded by another node; going on from the stored cursor`);
      this.unsure.add(job.name);
      await this.resyncCursor(job.name);
    }
  }

  private async fireDueOnce(job: JobConfig, timeline: Timeline, now: number): Promise<void> {
    await this.resyncCursor(job.name);
    const cursor = this.cursors.get(job.name) ?? now;
    const { fires, total, capped } = timeline.firesBetween(cursor, now, MAX_MISSED_RECORDS + 1);
    const latest = fires.at(-1);
    if (latest === undefined) return;
    const onTime = latest >= this.firingSinceMs && now - latest <= ON_TIME_TOLERANCE_MS;
    const trigger = onTime ? 'schedule' : job.catchUp === 'latest' ? 'catch_up' : null;
    const missed = trigger ? fires.slice(0, -1) : fires;
    const missedTotal = total - (trigger ? 1 : 0);
    for (const at of missed.slice(-MAX_MISSED_RECORDS)) {
      await this.deps.dispatcher.recordMissed(job, at);
      this.cursors.set(job.name, at); // recorded: a failure after this one must not record it twice
    }
    if (missedTotal > 0) {
      this.deps.logger.warn(
        { job: job.name, missed: missedTotal, recorded: Math.min(missed.length, MAX_MISSED_RECORDS), capped },
        `${capped ? 'at least ' : ''}${missedTotal} scheduled fire(s) of ${job.name} were missed` +
          (trigger === 'catch_up' ? '; running the latest (catch_up: latest)' : ''),
      );
    }
    // Every record of a fire (run, queue or skip) moves the stored cursor in its own transaction (NewRun.fire).
    const before = this.cursors.get(job.name) ?? cursor;
    this.cursors.set(job.name, latest);
    if (!trigger) return;
    try {
      await this.deps.dispatcher.request(job, { trigger, scheduledAtMs: latest, fire: true });
    } catch (error) {
      // Not recorded (the database did not answer): the fire is looked at again next tick — run, late as a catch-up,
      // or recorded missed — instead of being dropped. If its record did commit and only the answer was lost, the
      // stored cursor says so and is read back first (resyncCursor).
      this.cursors.set(job.name, before);
      this.unsure.add(job.name);
      throw error;
    }
  }

  /** After a failed fire: the stored cursor wins when that fire's record committed after all. */
  private async resyncCursor(job: string): Promise<void> {
    if (!this.unsure.has(job)) return;
    const saved = (await this.deps.store.getJobState(job)).last_fire_at;
    if (saved !== null && Date.parse(saved) > (this.cursors.get(job) ?? 0)) this.cursors.set(job, Date.parse(saved));
    this.unsure.delete(job);
  }

  private async arm(): Promise<void> {
    const now = this.now();
    let next = now + MAX_WAIT_MS;
    for (const [name, scheduled] of this.firing() ? this.timelines : []) {
      const at = scheduled.timeline.nextAfter(Math.max(this.cursors.get(name) ?? now, now - 1));
      if (at !== null && at < next) next = at;
    }
    // The next fire is armed before the queued runs are read: on a loaded database that read can take a second, and a
    // per-second schedule's next fire must not wait for it (it would come due with the one after and be coalesced,
    // recorded missed). The read below may only bring the timer forward.
    this.setTimer(next);
    const armed = this.timer;
    try {
      // Future queued runs set the timer. One already due that did not start — the tick's pump read the queue just
      // before it became due (seen on a loaded box: a retry then waited the full 30 s), or it waits for a slot —
      // is looked at again within a second: soon, but never a spin while it stays blocked.
      const queued = await this.deps.store.listRuns({ statuses: ['queued'], dueBefore: iso(next), limit: 50 });
      const nowAfterRead = this.now();
      const future = queued.map((r) => Date.parse(r.scheduled_at)).find((at) => at > nowAfterRead);
      if (future !== undefined) next = Math.min(next, future);
      // A run waiting for its own job's running run (overlap: queue) is started by that run's end instead.
      const busy = new Set(this.deps.dispatcher.activeRuns().map((r) => r.job));
      const dueWaiting = queued.some((r) => Date.parse(r.scheduled_at) <= nowAfterRead && !busy.has(r.job));
      if (dueWaiting) next = Math.min(next, nowAfterRead + DUE_RECHECK_MS);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'could not read queued runs');
    }
    // Only if nothing re-armed meanwhile (a wake, a tick that started and armed again): its timer is the newer one.
    if (this.timer === armed) this.setTimer(next);
  }

  private setTimer(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, at - this.now()));
  }
}
