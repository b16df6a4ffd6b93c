/**
 * Composes the task queues (issue 7) for the daemon: the queue service the API serves, one driver per job with a
 * `queue:`, the settling of the tasks a run held when it ends, and the pruning of done tasks. daemon.ts only calls
 * start, stop, reload, wake and runEnv.
 */
import { TASKS } from '../config/defaults.ts';
import type { JobConfig, ResolvedConfig } from '../config/types.ts';
import { parseDuration } from '../config/units.ts';
import type { Dispatcher } from '../scheduler/dispatcher.ts';
import type { Run, Store } from '../store/types.ts';
import type { BudgetIncidents } from '../tasks/queue-budget.ts';
import { QueueDriver } from '../tasks/queue-driver.ts';
import { settleOrphanedTasks, settleRunTasks } from '../tasks/run-tasks.ts';
import { TaskService } from '../tasks/task-service.ts';
import type { Logger } from '../util/logger.ts';
import { iso } from '../util/time.ts';

const PRUNE_EVERY_MS = parseDuration(TASKS.prune_every);
/** A task run's lock is `job:<name>#task:<id>` (see StartRequest.lockKey): one run per task, many per job. */
const TASK_LOCK_KEY = 'task:';

export interface TasksDeps {
  store: Store;
  logger: Logger;
  config: () => ResolvedConfig;
  dispatcher: Dispatcher;
  /** The daemon's base URL (for NIGHTSHIFT_TASK_URL). */
  url: () => string;
  /** The incident desk: a queue's spent retry budget opens `budget_exhausted` there. */
  incidents?: BudgetIncidents;
  /** Whether this node runs the job's tasks (in a cluster, a job pinned to another node is that node's to drive). */
  runsHere?: (job: JobConfig) => boolean;
  now?: () => number;
}

export class Tasks {
  readonly service: TaskService;
  readonly #deps: TasksDeps;
  readonly #now: () => number;
  readonly #drivers = new Map<string, QueueDriver>();
  #pruneTimer: NodeJS.Timeout | null = null;
  #started = false;

  constructor(deps: TasksDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.service = new TaskService({
      store: deps.store,
      logger: deps.logger,
      config: deps.config,
      ...(deps.incidents ? { incidents: deps.incidents } : {}),
      now: this.#now,
    });
  }

  /** After recovery: tasks of runs that died with the last daemon are settled, then the drivers start claiming. */
  async start(): Promise<void> {
    await this.service.start();
    const settled = await settleOrphanedTasks(this.service, this.#now());
    if (settled) this.#deps.logger.warn({ tasks: settled }, 'settled tasks held by runs that ended while no daemon watched');
    this.#deps.dispatcher.events.on('run:ended', this.#onRunEnded);
    this.#started = true;
    this.#syncDrivers();
    await this.#prune();
    this.#pruneTimer = setInterval(() => void this.#prune(), PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
  }

  /**
   * Before the dispatcher drains: no new task runs, waiting claims answered with null. Runs that end during the drain
   * still settle their tasks (the listener stays); one the store closes under is settled at the next start.
   */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    for (const driver of this.#drivers.values()) {
      this.service.gate(driver.queue).remove(driver);
      driver.close();
    }
    this.#drivers.clear();
    await this.service.stop();
  }

  reload(): void {
    if (!this.#started) return;
    this.#syncDrivers();
    this.service.reload().catch((error: unknown) => this.#deps.logger.error({ err: error }, 'applying the reloaded queues failed'));
  }

  /** A job may have been resumed: drivers held back try again. */
  wake(): void {
    for (const driver of this.#drivers.values()) driver.wake();
  }

  /**
   * Another node queued tasks (a NOTIFY, or the fallback poll): every waiting consumer looks again — the drivers of
   * `queue:` jobs and the SDK workers long-polling this node.
   */
  wakeAll(): void {
    this.wake();
    this.service.pokeAll();
  }

  /** The variables that hand a queue-driven run its task (see QueueDriver.runEnv). */
  async runEnv(job: JobConfig, run: Run): Promise<Record<string, string>> {
    if (run.trigger !== 'task') return {};
    try {
      return (await this.#drivers.get(job.name)?.runEnv(run, this.#deps.url())) ?? {};
    } catch (error) {
      // The run still starts; without its task it has nothing to do, and the task's lease brings it back.
      this.#deps.logger.error({ err: error, run: run.id }, 'could not hand a task to its run');
      return {};
    }
  }

  readonly #onRunEnded = (run: Run): void => {
    void (async () => {
      await settleRunTasks(this.service, run, this.#now());
      if (!this.#started) return;
      for (const driver of this.#drivers.values()) await driver.runEnded(run);
      // The dispatcher forgets the run just after this event: look again once it has, so its job counts as idle.
      setImmediate(() => {
        for (const driver of this.#drivers.values()) this.service.poke(driver.queue);
      });
    })().catch((error: unknown) => this.#deps.logger.error({ err: error, run: run.id }, 'settling the tasks of an ended run failed'));
  };

  #runsHere(job: JobConfig): boolean {
    return this.#deps.runsHere?.(job) ?? true;
  }

  /** One driver per job with a `queue:`, following reloads. */
  #syncDrivers(): void {
    const jobs = this.#deps.config().jobs;
    for (const [name, driver] of this.#drivers) {
      const job = jobs[name];
      if (job?.queue === driver.queue && this.#runsHere(job)) {
        driver.update(job);
        driver.wake();
        continue;
      }
      this.service.gate(driver.queue).remove(driver);
      driver.close();
      this.#drivers.delete(name);
    }
    for (const job of Object.values(jobs)) {
      if (job.queue === null || this.#drivers.has(job.name) || !this.#runsHere(job)) continue;
      const driver = new QueueDriver(job, {
        service: this.service,
        logger: this.#deps.logger,
        startRun: (current, task) =>
          this.#deps.dispatcher.request(current, { trigger: 'task', scheduledAtMs: this.#now(), lockKey: `${TASK_LOCK_KEY}${task.id}` }),
        cancelQueued: async (run) => {
          const end = { status: 'skipped', reason: null, exit_code: null, signal: null, ended_at: iso(this.#now()), error: 'no slot for a task run now; its task waits in the queue' } as const;
          await this.#deps.store.cancelQueuedRun(run.id, end);
        },
        hasRoom: () => {
          const max = this.#deps.config().limits.maxConcurrentRuns;
          return max === 0 || this.#deps.dispatcher.activeCount < max;
        },
        held: async (name) => {
          const state = await this.#deps.store.getJobState(name);
          return state.paused ? 'paused' : (state.hold?.state ?? null);
        },
        now: this.#now,
      });
      this.#drivers.set(job.name, driver);
      this.service.gate(driver.queue).add(driver);
    }
  }

  async #prune(): Promise<void> {
    try {
      const { deleted } = await this.#deps.store.pruneTasks(iso(this.#now() - this.#deps.config().history.maxAgeMs));
      if (deleted) this.#deps.logger.info({ deleted }, 'pruned done tasks from the queues');
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'pruning done tasks failed');
    }
  }
}
