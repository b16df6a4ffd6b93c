/**
 * The dead-man's switches: keeps the stored checks in line with the config, records pings, and marks a check down
 * when its expected signal is past due — on one timer to the next moment any check changes state by the clock
 * alone, never by polling. Going down opens an incident (`job_late` for a job's check, `check_down` otherwise); a
 * success resolves it. At start every check is evaluated at once, so one that went due while the daemon was down is
 * down from the first moment.
 */
import { randomUUID } from 'node:crypto';
import { CREATED_CHECK, PINGS_KEPT_PER_CHECK } from '../config/defaults.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { parseDuration } from '../config/units.ts';
import type { IncidentDesk } from '../alerts/incidents.ts';
import type { PingIntake, PingOutcome, PingRequest } from '../http/ping-intake.ts';
import type { CheckRecord, NewPing, Ping, Store } from '../store/types.ts';
import { StoreError } from '../store/errors.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { humanDuration, iso } from '../util/time.ts';
import { evaluateCheck, nextTransition, type CheckPlan, type CheckView } from './check-state.ts';
import { configuredChecks, createdPlan, viewChecks } from './check-plans.ts';
import { lateIncident, recoveredKinds } from './check-incidents.ts';

export interface CheckWatcherDeps {
  store: Store;
  logger: Logger;
  incidents: IncidentDesk;
  config: () => ResolvedConfig;
  now?: () => number;
}

export interface CheckSnapshot {
  record: CheckRecord;
  view: CheckView;
}

export class CheckWatcher implements PingIntake {
  readonly #deps: CheckWatcherDeps;
  readonly #now: () => number;
  readonly #timer = new DueTimer(() => void this.evaluate());
  #plans = new Map<string, CheckPlan>();
  /** uuid → check name, for pings by uuid without a store lookup. */
  #names = new Map<string, string>();
  #evaluating: Promise<void> | null = null;
  #batch: Array<{ ping: NewPing; resolve: (ping: Ping) => void; reject: (error: unknown) => void }> = [];
  #again = false;
  /** When evaluate() last ran; /healthz tells a stuck watcher from an idle one by the armed timer instead. */
  lastEvaluatedAt = 0;

  constructor(deps: CheckWatcherDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Syncs the stored checks with the config and evaluates them all. Also the reload path. */
  async start(): Promise<void> {
    const { specs, plans } = configuredChecks(this.#deps.config());
    const records = await this.#deps.store.syncChecks(specs, iso(this.#now()), randomUUID);
    for (const record of records) if (!plans.has(record.name)) plans.set(record.name, createdPlan(record));
    this.#plans = plans;
    this.#names = new Map(records.map((record) => [record.uuid, record.name]));
    await this.evaluate();
  }

  stop(): void {
    this.#timer.cancel();
  }

  /** Every check with its state now, by name. */
  async snapshot(): Promise<CheckSnapshot[]> {
    return viewChecks(await this.#deps.store.listChecks(), this.#plans, this.#now());
  }

  /** Marks past-due checks down (opening their incidents) and arms the timer for the next change. Serialised. */
  evaluate(): Promise<void> {
    if (this.#evaluating) {
      this.#again = true;
      return this.#evaluating;
    }
    this.#evaluating = (async () => {
      try {
        do {
          this.#again = false;
          await this.#evaluateOnce();
        } while (this.#again);
      } catch (error) {
        this.#deps.logger.error({ err: error }, 'evaluating checks failed; trying again in a minute');
        this.#timer.arm(this.#now() + 60_000);
      } finally {
        this.#evaluating = null;
      }
    })();
    return this.#evaluating;
  }

  async #evaluateOnce(): Promise<void> {
    const now = this.#now();
    this.lastEvaluatedAt = now;
    let next: number | null = null;
    for (const { record, view } of await this.snapshot()) {
      const overdue = view.dueAt !== null && now >= view.dueAt;
      // Already-down outside checks have their incident; a job's check is late on top of a failure.
      if (overdue && (record.status !== 'down' || record.origin === 'job')) await this.#wentDown(record, view);
      const at = nextTransition(view, now);
      if (at !== null) next = next === null ? at : Math.min(next, at);
    }
    this.#timer.arm(next);
  }

  async #wentDown(record: CheckRecord, view: CheckView): Promise<void> {
    const since = iso(view.dueAt ?? this.#now());
    const marked = await this.#deps.store.markCheckDown(record.name, since);
    const current = marked ?? record;
    // A job's check: job_late whatever the reason, even when a failure already marked it down (DESIGN.md).
    if (marked === null && record.origin !== 'job') return;
    const [lastPing] = await this.#deps.store.listPings(record.name, 1);
    await this.#deps.incidents.open(lateIncident(current, view, lastPing ?? null, this.#now()));
    if (marked) this.#deps.logger.warn({ check: record.name, since }, `check ${record.name} is down: nothing arrived by ${since}`);
  }

  // PingIntake: what the Healthchecks.io-compatible routes call.

  async pingByUuid(uuid: string, ping: PingRequest): Promise<PingOutcome> {
    // The hot path of the ping API: the name comes from memory (kept in step with the store by start() and create).
    let name = this.#names.get(uuid);
    if (name === undefined) {
      const check = await this.#deps.store.findCheckByUuid(uuid);
      if (check === null) return 'not_found';
      name = check.name;
      this.#names.set(uuid, name);
    }
    await this.record(name, ping);
    return 'ok';
  }

  async pingBySlug(slug: string, ping: PingRequest, create: boolean): Promise<PingOutcome> {
    let check = await this.#deps.store.getCheck(slug);
    let outcome: PingOutcome = 'ok';
    if (check === null) {
      if (!create) return 'not_found';
      check = await this.#deps.store.createCheck({
        name: slug,
        uuid: randomUUID(),
        every_ms: parseDuration(CREATED_CHECK.every),
        grace_ms: parseDuration(CREATED_CHECK.grace),
        at: iso(this.#now()),
      });
      this.#plans.set(slug, createdPlan(check));
      this.#names.set(check.uuid, check.name);
      this.#deps.logger.info({ check: slug }, `check ${slug} created by a ping`);
      outcome = 'created';
    }
    await this.record(check.name, ping);
    return outcome;
  }

  /**
   * Records a ping to a check by name (pings from runs come this way too) and acts on the transition. Pings that
   * arrive in the same turn of the event loop are written in one transaction: under a burst of pings that is one
   * commit for many, instead of one each (bench/ping-throughput.mjs).
   */
  record(name: string, ping: PingRequest): Promise<Ping> {
    return new Promise((resolve, reject) => {
      this.#batch.push({
        ping: { check: name, kind: ping.kind, exit_code: ping.exitCode, rid: ping.rid, body: ping.body, at: iso(this.#now()), keep: PINGS_KEPT_PER_CHECK },
        resolve,
        reject,
      });
      if (this.#batch.length === 1) setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    let results: Awaited<ReturnType<Store['recordPings']>>;
    try {
      results = await this.#deps.store.recordPings(batch.map((entry) => entry.ping));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    for (const [i, entry] of batch.entries()) {
      const result = results[i];
      if (!result) {
        entry.reject(new StoreError('not_found', `no check named '${entry.ping.check}'`));
        continue;
      }
      try {
        await this.#transition(entry.ping.check, result);
        entry.resolve(result.ping);
      } catch (error) {
        entry.reject(error);
      }
    }
  }

  async #transition(name: string, result: { before: CheckRecord; after: CheckRecord; ping: Ping }): Promise<void> {
    const { before, after } = result;
    const now = this.#now();
    const view = evaluateCheck(after, this.#plans.get(name) ?? createdPlan(after), now);
    // Only a check that was down has incidents to resolve (a job's failure and lateness both mark it down).
    if (after.status === 'up' && before.status === 'down') {
      for (const kind of recoveredKinds(after)) await this.#deps.incidents.resolve(kind, name);
    } else if (after.status === 'down' && before.status !== 'down' && after.origin !== 'job') {
      // A failure signalled by the script itself (/fail, a non-zero exit): down now, as on Healthchecks.io. A job's
      // failed run is reported by the run watcher as run_failed, with its stderr.
      await this.#deps.incidents.open(lateIncident(after, view, result.ping, now));
    }
    // Only this check changed: its next moment may be sooner than the one armed. (A later one makes the armed timer
    // fire early, find nothing due and re-arm; re-reading every check on every ping would cost far more.)
    const next = nextTransition(view, now);
    const armed = this.#timer.dueAt;
    if (next !== null && (armed === null || next < armed)) this.#timer.arm(next);
  }

  /** Follows a job's pause: a paused job's check is paused too, and resumes counting when the job does. */
  async setPaused(name: string, paused: boolean): Promise<void> {
    if (!this.#plans.has(name)) return;
    await this.#deps.store.setCheckPaused(name, paused, iso(this.#now()));
    await this.evaluate();
  }

  describeDue(view: CheckView): string {
    return view.dueAt === null ? 'not expected' : `due ${humanDuration(Math.max(0, view.dueAt - this.#now()))} from now`;
  }
}
