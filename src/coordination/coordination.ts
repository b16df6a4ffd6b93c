/**
 * Coordination as the daemon offers it (docs/coordination.md): the state steward, named locks and upstream
 * freshness, over one store. The HTTP routes (src/http/coordination-routes.ts) and the start policy use this.
 */
import type { JobConfig } from '../config/types.ts';
import type { ProcessProbe } from '../scheduler/holder-liveness.ts';
import type { Store } from '../store/types.ts';
import { LockService, type LockClaimant } from './lock-service.ts';
import { StateSteward } from './state-steward.ts';
import { freshnessOf, judgeUpstream, type Freshness } from './upstream.ts';

/** The host's processes as locks need them (HostProcesses implements it). */
export interface HostProbe extends ProcessProbe {
  /** From /proc/PID/stat; null when there is no such process. */
  startTimeOf(pid: number): Promise<number | null>;
}

export interface CoordinationDeps {
  store: Store;
  probe: HostProbe;
  /** One SQLite file: every lock holder is on this host and can be probed through /proc. */
  sameHost: boolean;
  node: string;
  /** The daemon's own process start time: the holder probed for a run's lock that names no process of its own. */
  pidStart: number | null;
  jobs: () => Readonly<Record<string, JobConfig>>;
  now?: () => number;
}

export class Coordination {
  readonly state: StateSteward;
  readonly locks: LockService;
  readonly #deps: CoordinationDeps;
  readonly #now: () => number;

  constructor(deps: CoordinationDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.state = new StateSteward(deps.store, this.#now);
    this.locks = new LockService({ store: deps.store, probe: deps.probe, sameHost: deps.sameHost, node: deps.node, now: this.#now });
  }

  /** The daemon as a lock holder, for a caller that names no process (a curl in a script, an SDK in a container). */
  daemonClaimant(runId: string | null): LockClaimant {
    return { run_id: runId, pid: process.pid, pid_start: this.#deps.pidStart };
  }

  /** How fresh `job` is within `withinMs`; null when nothing knows the job (not configured, never recorded). */
  async freshness(job: string, withinMs: number): Promise<Freshness | null> {
    const configured = this.#deps.jobs()[job];
    const result = await freshnessOf(this.#deps.store, job, configured?.kind ?? null, withinMs, this.#now());
    if (configured === undefined && result.age_ms === null && !(await this.#deps.store.jobActivity(job)).known) return null;
    return result;
  }

  /** For the start policy: whether `job`'s `after:` upstream is stale, and what its `on_stale` says to do. */
  judge(job: JobConfig): Promise<{ onStale: 'degrade' | 'skip'; why: string } | null> {
    return judgeUpstream(this.#deps.store, job.after, this.#deps.jobs(), this.#now());
  }

  /**
   * The holder for a caller that names its own process (`nightshift lock`, the SDK): that process, so the lock is
   * reclaimed as soon as it is gone. `invalid` when it is not a live process on this host; on a fleet (not one host)
   * the pid is recorded but cannot be checked.
   */
  async processClaimant(runId: string | null, pid: number): Promise<LockClaimant | 'invalid'> {
    if (!this.#deps.sameHost) return { run_id: runId, pid, pid_start: null };
    const start = await this.#deps.probe.startTimeOf(pid);
    return start === null ? 'invalid' : { run_id: runId, pid, pid_start: start };
  }
}
