/**
 * One run's memory limit and CPU quota: the path chosen for it, the cgroup files written before its process moves
 * in, the guard while it runs, and what it used when it is over. spawn-run.ts calls these in order:
 *
 *   prepare (before the spawn) → adopt (in the tick spawn returns) → catchUp → watch → finish (after the kill,
 *   before the cgroups go) → remove
 *
 * The path is chosen per run: the kernel in the run's cgroup where the host offers it (cgroup-limits.ts) and the
 * files could be written; otherwise sampling RSS (memory-guard.ts), which works everywhere. A CPU quota has no
 * fallback: without a cgroup it is reported as not enforced.
 */
import { parseDuration } from '../config/units.ts';
import { RUN_LIMITS } from '../config/defaults.ts';
import { adoptDescendants, type RunCgroup, type RunCgroups } from './cgroup.ts';
import {
  SAMPLING_ONLY,
  readMemory,
  writeCpuLimit,
  writeMemoryLimit,
  type CgroupVersion,
  type RunLimitSupport,
} from './cgroup-limits.ts';
import { CgroupMemoryProbe, MemoryGuard, RssProbe } from './memory-guard.ts';
import type { ProcReader } from './proc.ts';
import type { RunCpu, RunMemory, RunSpec } from './types.ts';

const SAMPLE_EVERY_MS = parseDuration(RUN_LIMITS.sample_every);
const SEARCH_EVERY_MS = parseDuration(RUN_LIMITS.rss_search_every);
const CPU_PERIOD_US = parseDuration(RUN_LIMITS.cpu_period) * 1000;

interface Enforced {
  cgroup: RunCgroup;
  version: CgroupVersion;
}

export interface WatchContext {
  pgid: number;
  notBeforeStartTime: number | undefined;
  proc: ProcReader;
  /** The run's signal: the guard ends with the run. */
  signal: AbortSignal;
  /** Ends the run for its memory (called at most once). */
  onExceeded: () => void;
}

type Spec = Pick<RunSpec, 'runId' | 'memoryBytes' | 'cpuPercent'>;
type Via = RunLimitSupport['memory'] | RunLimitSupport['cpu'];
interface Placed {
  memory: Enforced | null;
  cpu: Enforced | null;
  v1: RunCgroup[];
}

export class RunLimits {
  private readonly spec: Spec;
  /** The run's v2 cgroup (also when it enforces nothing: the RSS probe counts its members). */
  private readonly v2: RunCgroup | null;
  private readonly memory: Enforced | null;
  private readonly cpu: Enforced | null;
  /** v1 run cgroups made for this run: moved into with the process, removed with the run. */
  private readonly v1: RunCgroup[];
  private guard: MemoryGuard | null = null;

  private constructor(spec: Spec, v2: RunCgroup | null, parts: Placed) {
    this.spec = spec;
    this.v2 = v2;
    this.memory = parts.memory;
    this.cpu = parts.cpu;
    this.v1 = parts.v1;
  }

  /**
   * Chooses the paths and writes the cgroup limits. Synchronous and before the spawn: the limits must be in place
   * when the process moves in (the v2 cgroup is moved into by spawn-run, the v1 ones by `adopt`).
   */
  static prepare(spec: Spec, v2: RunCgroup | null, support: RunLimitSupport | null | undefined): RunLimits {
    const host = support ?? SAMPLING_ONLY;
    const v1: RunCgroup[] = [];
    /** The cgroup the host offers for this limit, with `write` done in it; null: the fallback (or nothing). */
    const place = (via: Via, v1Cgroups: RunCgroups | null, write: (e: Enforced) => boolean): Enforced | null => {
      let target: Enforced | null = null;
      if (via === 'cgroup v2' && v2 !== null) target = { cgroup: v2, version: 2 };
      const cgroup = via === 'cgroup v1' ? (v1Cgroups?.forRun(spec.runId) ?? null) : null;
      if (cgroup !== null) {
        if (!v1.some((c) => c.path === cgroup.path)) v1.push(cgroup); // co-mounted controllers share one
        target = { cgroup, version: 1 };
      }
      return target !== null && write(target) ? target : null;
    };
    const { memoryBytes, cpuPercent } = spec;
    const logger = host.logger;
    const memory =
      memoryBytes === null
        ? null
        : place(host.memory, host.v1Memory, (e) => writeMemoryLimit(e.cgroup, e.version, memoryBytes, logger));
    const cpu =
      cpuPercent === null
        ? null
        : place(host.cpu, host.v1Cpu, (e) => writeCpuLimit(e.cgroup, e.version, cpuPercent, CPU_PERIOD_US, logger));
    return new RunLimits(spec, v2, { memory, cpu, v1 });
  }

  /** Moves the process into the v1 run cgroups (synchronously, in the tick spawn() returned, like the v2 move). */
  adopt(pid: number): void {
    for (const cgroup of this.v1) cgroup.adopt(pid);
  }

  /** The same catch-up as the v2 cgroup's: descendants forked before the move, moved in by parent pid. */
  async catchUp(pid: number, proc: ProcReader, notBeforeStartTime: number | undefined): Promise<void> {
    await Promise.all(this.v1.map((cgroup) => adoptDescendants(cgroup, pid, proc, notBeforeStartTime)));
  }

  /**
   * A cgroup whose members are the run's, for the kill, where the run has no v2 cgroup (a v1-only host): the v1
   * memory cgroup then finds what left the group and cleared its marker, as the v2 cgroup does elsewhere.
   */
  get membership(): RunCgroup | null {
    return this.memory?.version === 1 ? this.memory.cgroup : null;
  }

  /** Starts the guard, for a run with a memory limit only: no timer otherwise. */
  watch(ctx: WatchContext): void {
    const limitBytes = this.spec.memoryBytes;
    if (limitBytes === null) return;
    const probe =
      this.memory !== null
        ? new CgroupMemoryProbe(this.memory.cgroup, this.memory.version)
        : new RssProbe({
            runId: this.spec.runId,
            pgid: ctx.pgid,
            notBeforeStartTime: ctx.notBeforeStartTime,
            proc: ctx.proc,
            limitBytes,
            cgroup: this.v2,
            searchEveryMs: SEARCH_EVERY_MS,
          });
    this.guard = new MemoryGuard(probe);
    this.guard.start({ everyMs: SAMPLE_EVERY_MS, signal: ctx.signal, onExceeded: ctx.onExceeded });
  }

  /**
   * Stops the guard and reads what the run used. Called after the kill (the peak is final) and before the cgroups
   * are removed (their counters go with them). `endedForMemory`: the guard's call ended the run (it may have lost to
   * the run's own exit). For a cgroup, `exceeded` is the kernel's word: it OOM-killed in the run's cgroup.
   */
  async finish(endedForMemory: boolean): Promise<{ memory: RunMemory | null; cpu: RunCpu | null }> {
    await this.guard?.stop();
    const cpuPercent = this.spec.cpuPercent;
    const cpu: RunCpu | null =
      cpuPercent === null
        ? null
        : { percent: cpuPercent, enforced: this.cpu !== null, cgroupVersion: this.cpu?.version ?? null };
    const limitBytes = this.spec.memoryBytes;
    if (limitBytes === null) return { memory: null, cpu };
    const sampled = this.guard?.peakBytes ?? 0;
    if (this.memory === null) {
      const exceeded = endedForMemory && (this.guard?.exceeded ?? false);
      const via = 'rss';
      const memory: RunMemory = { limitBytes, peakBytes: sampled, via, cgroupVersion: null, exceeded, oomKills: 0 };
      return { memory, cpu };
    }
    const reading = await readMemory(this.memory.cgroup, this.memory.version);
    const peakBytes = reading.peakBytes ?? Math.max(sampled, reading.currentBytes ?? 0);
    const memory: RunMemory = {
      limitBytes,
      peakBytes,
      via: 'cgroup',
      cgroupVersion: this.memory.version,
      exceeded: reading.oomKills > 0,
      oomKills: reading.oomKills,
    };
    return { memory, cpu };
  }

  /** Removes the v1 run cgroups (the v2 one is spawn-run's); a survivor's is left for the sweep, as in cgroup.ts. */
  async remove(): Promise<void> {
    await Promise.all(this.v1.map((cgroup) => cgroup.remove()));
  }
}
