/**
 * A queue's retry budget (`queues.<name>.retries.budget: 10/1h`, issue 7): every charged failed attempt of the queue's
 * tasks is recorded in the store (a failure that spends an attempt, a lapsed lease, a dead letter), and while the
 * rolling window holds `count` of them the queue hands out no retries — the claim picks first attempts only
 * (task-types.ts, QueueLimits.budget). Seed 003's task retried 319 times against one rate limit is the case: the
 * failed tasks wait, neither burned nor dead-lettered by the budget, and go again when the window lets one through.
 *
 * This file does what the claim cannot: it opens one `budget_exhausted` incident (subject `queue:<name>`, so a job of
 * the same name keeps its own) when the budget is spent, and resolves it when a retry may go again — on one timer per
 * spent queue, set to that moment (no polling), whether or not anything is waiting to claim. The count lives in the
 * store, so a restart finds a spent budget still spent and the open incident still open.
 */
import type { IncidentInput } from '../alerts/incidents.ts';
import type { QueueConfig } from '../config/types.ts';
import type { Incident, IncidentKind, QueueBudget, Store } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { humanDuration, iso } from '../util/time.ts';

/** What the budget needs of the incident desk (src/alerts/incidents.ts). */
export interface BudgetIncidents {
  open(input: IncidentInput): Promise<Incident>;
  resolve(kind: IncidentKind, subject: string): Promise<Incident | null>;
}

export interface QueueBudgetsDeps {
  store: Store;
  logger: Logger;
  /** Absent (a bare TaskService in tests): budgets still hold retries, no incident is opened. */
  incidents: BudgetIncidents | null;
  settingsOf: (queue: string) => QueueConfig;
  /** The declared queues' names. */
  declared: () => string[];
  /** The budget lets retries through again: waiting claims may now succeed. */
  onFreed: (queue: string) => void;
  now: () => number;
}

const KIND = 'budget_exhausted';
const SUBJECT_PREFIX = 'queue:';

export function budgetSubject(queue: string): string {
  return SUBJECT_PREFIX + queue;
}

export class QueueBudgets {
  readonly #deps: QueueBudgetsDeps;
  readonly #timers = new Map<string, DueTimer>();
  /** Queues whose incident this process knows open (seeded from the store at start): a cache, the desk dedupes. */
  readonly #spent = new Set<string>();
  /** One check at a time per queue, so two failures at once open one incident. */
  readonly #checks = new Map<string, Promise<void>>();
  #stopped = false;

  constructor(deps: QueueBudgetsDeps) {
    this.#deps = deps;
  }

  /** Picks up incidents a previous daemon left open, then looks at every queue (a window may have passed meanwhile). */
  async start(): Promise<void> {
    this.#stopped = false;
    for (const incident of await this.#deps.store.listIncidents({ open: true, limit: 10_000 })) {
      if (incident.kind === KIND && incident.subject.startsWith(SUBJECT_PREFIX)) this.#spent.add(incident.subject.slice(SUBJECT_PREFIX.length));
    }
    await this.reload();
  }

  /** After a config reload: budgets given, changed or removed take effect (a removed one resolves its incident). */
  async reload(): Promise<void> {
    const queues = new Set([...this.#deps.declared(), ...this.#spent]);
    for (const queue of queues) await this.check(queue);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
  }

  /** The queue's budget now, or null when it has none (for `GET /api/v1/queues`). */
  async state(queue: string): Promise<QueueBudget | null> {
    const budget = this.#deps.settingsOf(queue).retries.budget;
    return budget === null ? null : this.#deps.store.getQueueBudget(queue, budget, iso(this.#deps.now()));
  }

  /** A charged failure of `queue` was recorded, or its retries were refused: open, keep or resolve its incident. */
  check(queue: string): Promise<void> {
    const previous = this.#checks.get(queue) ?? Promise.resolve();
    const next = previous.then(() => this.#check(queue)).catch((error: unknown) => {
      this.#deps.logger.error({ err: error, queue }, "checking a queue's retry budget failed; it is looked at again on its next failure");
    });
    this.#checks.set(queue, next);
    void next.finally(() => {
      if (this.#checks.get(queue) === next) this.#checks.delete(queue);
    });
    return next;
  }

  async #check(queue: string): Promise<void> {
    if (this.#stopped) return;
    const budget = this.#deps.declared().includes(queue) ? this.#deps.settingsOf(queue).retries.budget : null;
    const state = budget === null ? null : await this.#deps.store.getQueueBudget(queue, budget, iso(this.#deps.now()));
    if (budget === null || state === null || state.exhausted_until === null) {
      this.#timerOf(queue).cancel();
      if (!this.#spent.delete(queue)) return;
      await this.#deps.incidents?.resolve(KIND, budgetSubject(queue));
      this.#deps.logger.info({ queue }, `queue ${queue}: its retry budget lets retries through again`);
      this.#deps.onFreed(queue);
      return;
    }
    const until = state.exhausted_until;
    this.#timerOf(queue).arm(Date.parse(until));
    if (this.#spent.has(queue)) return;
    const window = humanDuration(budget.perMs);
    const summary =
      `queue ${queue}: ${state.failures} failed attempts within ${window} ` +
      `(retries.budget ${budget.count}/${window}): its retries wait until ${until}`;
    this.#deps.logger.warn({ queue, until }, summary);
    await this.#deps.incidents?.open({
      kind: KIND,
      subject: budgetSubject(queue),
      summary,
      detail: {
        since: iso(this.#deps.now()),
        until,
        fix:
          `failed tasks wait (not dead) and new tasks still run; see why they fail with ` +
          `\`nightshift task list ${queue} --state queued\` (last_error). Retries resume by themselves as the window ` +
          'lets them through; this resolves then',
      },
    });
    this.#spent.add(queue); // after the open: a failed one is tried again by the next check
  }

  #timerOf(queue: string): DueTimer {
    let timer = this.#timers.get(queue);
    if (timer === undefined) {
      timer = new DueTimer(() => void this.check(queue), this.#deps.now);
      this.#timers.set(queue, timer);
    }
    return timer;
  }
}
