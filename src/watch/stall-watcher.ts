/**
 * Heartbeats and stall escalation, in seed 003's three steps. A job with `heartbeat: 5m` expects its running run to
 * ping NIGHTSHIFT_HEARTBEAT_URL (or `nightshift heartbeat`) at least that often. Silent past
 *   warn    → a warning in the daemon log and a note in the run's own log;
 *   restart → the run is killed (`reason: stalled`) and retried under its retry policy;
 *   alert   → a `stalled` incident for a human. This silence is counted across the retried attempts of the chain, so a
 *             job that hangs on every attempt reaches a human instead of being restarted forever in silence.
 * A heartbeat (from any attempt of the chain) or a success resolves the incident. One timer to the next threshold.
 */
import type { IncidentDesk } from '../alerts/incidents.ts';
import type { HeartbeatPolicy, ResolvedConfig } from '../config/types.ts';
import type { RunTails } from '../runner/output/run-tails.ts';
import type { Run, Store } from '../store/types.ts';
import { DueTimer } from '../util/due-timer.ts';
import type { Logger } from '../util/logger.ts';
import { humanDuration, iso } from '../util/time.ts';
import type { RunEvents } from './run-watch.ts';

export interface StallWatcherDeps {
  store: Store;
  events: RunEvents;
  incidents: IncidentDesk;
  tails: RunTails;
  logger: Logger;
  config: () => ResolvedConfig;
  /** Kills a run this daemon supervises, ending it `killed` with this reason. */
  cancel: (runId: string, reason: 'stalled') => boolean;
  now?: () => number;
}

interface Watched {
  run: Run;
  policy: HeartbeatPolicy;
  /** The last sign of life of this attempt: its start or its last heartbeat. */
  heardAt: number;
  warned: boolean;
  killed: boolean;
}

interface Chain {
  job: string;
  policy: HeartbeatPolicy;
  /** The last sign of life of any attempt in the chain. */
  heardAt: number;
  alerted: boolean;
}

export class StallWatcher {
  readonly #deps: StallWatcherDeps;
  readonly #now: () => number;
  readonly #runs = new Map<string, Watched>();
  readonly #chains = new Map<string, Chain>();
  readonly #timer = new DueTimer(() => void this.#escalate());

  constructor(deps: StallWatcherDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  start(): void {
    this.#deps.events.on('run:started', this.#onStarted);
    this.#deps.events.on('run:ended', this.#onEnded);
  }

  stop(): void {
    this.#deps.events.off('run:started', this.#onStarted);
    this.#deps.events.off('run:ended', this.#onEnded);
    this.#timer.cancel();
  }

  /**
   * Records a heartbeat of a running run (stored on the run as `heartbeat_at`); false when the run is not running.
   * Watched or not: a job without `heartbeat:` may still send them, and they show on the run.
   */
  async heartbeat(runId: string, note: string | null = null): Promise<boolean> {
    const now = this.#now();
    if (!(await this.#deps.store.recordHeartbeat(runId, iso(now)))) return false;
    if (note) this.#deps.tails.note(runId, `heartbeat: ${note}`);
    const watched = this.#runs.get(runId);
    if (watched) {
      watched.heardAt = now;
      watched.warned = false;
      const chain = this.#chains.get(watched.run.chain_id);
      if (chain) {
        chain.heardAt = now;
        if (chain.alerted) {
          chain.alerted = false;
          await this.#deps.incidents.resolve('stalled', chain.job);
        }
      }
      this.#arm();
    }
    return true;
  }

  readonly #onStarted = (run: Run): void => {
    const policy = this.#deps.config().jobs[run.job]?.heartbeat ?? null;
    if (policy === null || run.started_at === null) return;
    const startedAt = Date.parse(run.started_at);
    this.#runs.set(run.id, { run, policy, heardAt: startedAt, warned: false, killed: false });
    if (!this.#chains.has(run.chain_id)) this.#chains.set(run.chain_id, { job: run.job, policy, heardAt: startedAt, alerted: false });
    this.#arm();
  };

  readonly #onEnded = (run: Run, retry: Run | null): void => {
    if (!this.#runs.delete(run.id) && !this.#chains.has(run.chain_id)) return;
    const chain = this.#chains.get(run.chain_id);
    if (retry === null) this.#chains.delete(run.chain_id); // the chain is over; an open incident waits for a success
    if (run.status === 'succeeded' && chain) void this.#deps.incidents.resolve('stalled', chain.job).catch(() => {});
    this.#arm();
  };

  #arm(): void {
    let next: number | null = null;
    const consider = (at: number) => (next = next === null ? at : Math.min(next, at));
    for (const w of this.#runs.values()) {
      if (w.killed) continue;
      consider(w.heardAt + (w.warned ? w.policy.restartMs : w.policy.warnMs));
    }
    for (const chain of this.#chains.values()) if (!chain.alerted) consider(chain.heardAt + chain.policy.alertMs);
    this.#timer.arm(next);
  }

  async #escalate(): Promise<void> {
    const now = this.#now();
    try {
      for (const [runId, w] of this.#runs) {
        const silentMs = now - w.heardAt;
        if (!w.killed && silentMs >= w.policy.restartMs) {
          w.killed = true;
          this.#deps.logger.warn({ job: w.run.job, run: runId, silent_ms: silentMs }, `run of ${w.run.job} stalled: no heartbeat for ${humanDuration(silentMs)}; killing it (reason: stalled)`);
          this.#deps.tails.note(runId, `no heartbeat for ${humanDuration(silentMs)} (restart after ${humanDuration(w.policy.restartMs)}): killing this run as stalled`);
          this.#deps.cancel(runId, 'stalled');
        } else if (!w.warned && silentMs >= w.policy.warnMs) {
          w.warned = true;
          this.#deps.logger.warn({ job: w.run.job, run: runId, silent_ms: silentMs }, `run of ${w.run.job} has sent no heartbeat for ${humanDuration(silentMs)}`);
          this.#deps.tails.note(runId, `no heartbeat for ${humanDuration(silentMs)} (warn after ${humanDuration(w.policy.warnMs)}; killed after ${humanDuration(w.policy.restartMs)})`);
        }
      }
      for (const [chainId, chain] of this.#chains) {
        const silentMs = now - chain.heardAt;
        if (chain.alerted || silentMs < chain.policy.alertMs) continue;
        chain.alerted = true;
        await this.#deps.incidents.open({
          kind: 'stalled',
          subject: chain.job,
          summary: `job ${chain.job} has sent no heartbeat for ${humanDuration(silentMs)}, across its retried attempts`,
          detail: {
            since: iso(chain.heardAt),
            run_id: chainId,
            fix: `the job hangs (a network call without a timeout, a lock, a prompt waiting for input): read \`nightshift logs ${chain.job}\`; it is killed every ${humanDuration(chain.policy.restartMs)} of silence and retried under its retry policy`,
          },
        });
      }
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'stall escalation failed');
    }
    this.#arm();
  }
}
