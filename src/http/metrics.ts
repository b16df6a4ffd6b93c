/**
 * The daemon's Prometheus metrics, served at `/metrics` (docs/metrics.md lists every series).
 *
 * Counters and the run-duration histogram are fed as runs end (`observeRunEnded`); everything that is a state (checks,
 * incidents, outbox, jobs, event-loop lag) is read from a `MetricsSource` at scrape time through prom-client's
 * `collect()` callbacks, so there is no second copy of the store's state in memory that could disagree with it
 * (DESIGN.md "One writer per fact") and nothing runs between scrapes.
 *
 * The registry is our own, never prom-client's global one: tests build as many `Metrics` as they like, and a library
 * that registers on the global registry cannot leak series into our output.
 */
import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CHECK_STATES, INCIDENT_KINDS, type CheckState, type Run } from '../store/types.ts';
import { VERSION } from '../version.ts';

/** What the metrics read at scrape time. Every method is called once per scrape; keep them cheap. */
export interface MetricsSource {
  checkStates(): Promise<Array<{ name: string; state: CheckState }>>;
  /** Open incidents counted by kind; kinds with none may be left out. */
  openIncidents(): Promise<Array<{ kind: string; count: number }>>;
  /** Notifications waiting to be sent (outbox entries still pending). */
  outboxBacklog(): Promise<number>;
  /** Each job's state as `status` shows it: idle, running, queued, backoff, paused … */
  jobStates(): Promise<Array<{ name: string; state: string }>>;
  /** The daemon's own event-loop lag, measured elsewhere by a cheap timer (see "Idle cost" below). */
  eventLoopLagSeconds(): number;
}

/**
 * Job states that always get a series (0 when not current), so `nightshift_job_state{state="crash_loop"} == 1` has
 * a series to compare even before any job ever was in that state. A state the source reports that is not listed here
 * is added to the set the first time it is seen. `crash_loop` and `halted` are DESIGN.md's; the rest are
 * src/status/build-status.ts's `JobState`.
 */
const KNOWN_JOB_STATES = ['idle', 'running', 'queued', 'backoff', 'paused', 'crash_loop', 'halted'] as const;

/**
 * Run durations from 100 ms (a quick `exec`) to 8 h (a nightly crawl). Each bucket is one series per job, so the list
 * is short: roughly ×3 per step, with the round numbers people put in `timeout:` (1m, 5m, 10m, 30m, 1h) as bounds so
 * "how many runs came near their timeout" is readable straight off a bucket.
 */
const RUN_DURATION_BUCKETS_SECONDS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 600, 1800, 3600, 7200, 14_400, 28_800];

/**
 * Label name for a nightshift job. Not `job`: Prometheus attaches its own `job` label (the scrape job) to every
 * series, and a scraped `job` label would be renamed `exported_job` (or, with `honor_labels: true`, overwrite the
 * scrape job) — either way every query in docs/metrics.md would be wrong for most users. kube-state-metrics uses
 * `job_name` for the same reason.
 */
const JOB_LABEL = 'job_name';

/**
 * Idle cost. `collectDefaultMetrics()` also registers `nodejs_eventloop_lag_*`, built on
 * `perf_hooks.monitorEventLoopDelay({ resolution: 10 })`: a libuv timer that fires every 10 ms for the life of the
 * process, whether or not anyone scrapes. Measured on Node 20.20 (2 vCPU VM), a process idle for 10 s with a
 * listening socket and nothing else, counting `voluntary_ctxt_switches` of its main thread in /proc/<pid>/status,
 * three runs each:
 *   nothing registered                                  9, 8, 11   (~1 wakeup/s)
 *   collectDefaultMetrics()                             979, 996, 985   (~100 wakeups/s)
 *   monitorEventLoopDelay alone                         632, 612, 638
 *   the collectors below, registered one by one         8, 10, 6   (no measurable cost)
 *   this class, built and scraped once                  12, 8, 7
 * So we register the default collectors we want one by one and leave the lag histogram out; the daemon's own lag
 * figure comes from the source. The other collectors only do work inside `collect()`, i.e. during a scrape.
 *
 * prom-client has no `exports` map, so its per-collector files load by path; they are CommonJS without type
 * declarations, hence `createRequire` and the signature below. test/http/metrics.test.ts asserts the resulting series
 * exist, so a prom-client upgrade that moves these files fails the test rather than silently dropping them.
 */
type DefaultCollector = (registry: Registry, config: { prefix?: string }) => void;
const DEFAULT_COLLECTOR_FILES = [
  'processCpuTotal', // process_cpu_{user,system}_seconds_total, process_cpu_seconds_total
  'processStartTime', // process_start_time_seconds
  'osMemoryHeap', // process_resident_memory_bytes, process_virtual_memory_bytes, process_heap_bytes
  'processOpenFileDescriptors', // process_open_fds
  'processMaxFileDescriptors', // process_max_fds
  'heapSizeAndUsed', // nodejs_heap_size_{total,used}_bytes, nodejs_external_memory_bytes
] as const;
const requireCjs = createRequire(import.meta.url);

export class Metrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'job_name' | 'status' | 'reason'>;
  private readonly runDuration: Histogram<'job_name'>;
  private readonly jobStatesSeen = new Set<string>(KNOWN_JOB_STATES);

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    // Standard names (no prefix): stock Node/process dashboards and alerts work on them as they are.
    for (const file of DEFAULT_COLLECTOR_FILES) {
      (requireCjs(`prom-client/lib/metrics/${file}.js`) as DefaultCollector)(this.registry, {});
    }

    this.runs = new Counter({
      name: 'nightshift_runs_total',
      help: 'Runs that ended, by job, final status and reason ("" when none).',
      labelNames: [JOB_LABEL, 'status', 'reason'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'nightshift_run_duration_seconds',
      help: 'Wall-clock duration of runs that started, from start to end.',
      labelNames: [JOB_LABEL],
      buckets: RUN_DURATION_BUCKETS_SECONDS,
      registers,
    });

    // Each collect() awaits the source first and only then resets and sets, all synchronously, so two overlapping
    // scrapes can never read a half-filled gauge; reset() drops series of checks and jobs that no longer exist.
    new Gauge({
      name: 'nightshift_check_state',
      help: 'Current state of each check: 1 for its state, 0 for the others.',
      labelNames: ['check', 'state'],
      registers,
      async collect() {
        const checks = await source.checkStates();
        this.reset();
        for (const { name, state: current } of checks) {
          for (const state of CHECK_STATES) this.set({ check: name, state }, state === current ? 1 : 0);
        }
      },
    });
    const jobStatesSeen = this.jobStatesSeen;
    new Gauge({
      name: 'nightshift_job_state',
      help: 'Current state of each job: 1 for its state, 0 for the others.',
      labelNames: [JOB_LABEL, 'state'],
      registers,
      async collect() {
        const jobs = await source.jobStates();
        for (const { state } of jobs) jobStatesSeen.add(state);
        this.reset();
        for (const { name, state: current } of jobs) {
          for (const state of jobStatesSeen) this.set({ [JOB_LABEL]: name, state }, state === current ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'nightshift_incidents_open',
      help: 'Incidents currently open, by kind.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const open = await source.openIncidents();
        this.reset();
        // Every known kind gets a series, so "went from 0 to 1" is visible and absent() is never needed.
        for (const kind of INCIDENT_KINDS) this.set({ kind }, 0);
        for (const { kind, count } of open) this.inc({ kind }, count);
      },
    });
    new Gauge({
      name: 'nightshift_outbox_backlog',
      help: 'Notifications queued in the outbox and not yet delivered.',
      registers,
      async collect() {
        this.set(await source.outboxBacklog());
      },
    });
    new Gauge({
      name: 'nightshift_event_loop_lag_seconds',
      help: "Latest measured delay of the daemon's event loop.",
      registers,
      collect() {
        this.set(source.eventLoopLagSeconds());
      },
    });
    new Gauge({
      name: 'nightshift_info',
      help: 'Always 1; the version label says which nightshift is running.',
      labelNames: ['version'],
      registers,
    }).set({ version: VERSION }, 1);
  }

  /** Call once per run that reached a final state (skipped runs included: they count, but have no duration). */
  /** Runs that ended before this Metrics existed (lazy-metrics.ts): counts, and the durations kept of them. */
  replay(counts: ReadonlyArray<{ run: Pick<Run, 'job' | 'status' | 'reason'>; n: number }>, durations: ReadonlyArray<Pick<Run, 'job' | 'duration_ms'>>): void {
    for (const { run, n } of counts) this.runs.inc({ [JOB_LABEL]: run.job, status: run.status, reason: run.reason ?? '' }, n);
    for (const run of durations) if (run.duration_ms !== null) this.runDuration.observe({ [JOB_LABEL]: run.job }, run.duration_ms / 1000);
  }

  observeRunEnded(run: Run): void {
    this.runs.inc({ [JOB_LABEL]: run.job, status: run.status, reason: run.reason ?? '' });
    if (run.duration_ms !== null) this.runDuration.observe({ [JOB_LABEL]: run.job }, run.duration_ms / 1000);
  }

  /** The exposition for `GET /metrics`. Rejects when the source does (the scrape then fails, and `up` says so). */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
