/**
 * Watches a running run's memory while it runs, and says once when the limit is hit.
 *
 * Two probes, one loop:
 * - `RssProbe`, where no cgroup enforces the limit: the total RSS of every process of the run — those carrying its
 *   marker, the members of its process group, and the members of its v2 cgroup if it has one (the three ways
 *   kill-tree.ts finds them) — over the limit ends the run. Finding them is the costly part (see the class). It is
 *   not what a cgroup would charge: a sum of RSS counts pages shared between processes (a forked worker's
 *   copy-on-write pages, shared libraries) once per process, and does not count what is not mapped — page cache,
 *   files in tmpfs, kernel memory. Close enough for a leak, which is anonymous memory growing.
 * - `CgroupMemoryProbe`, where the kernel enforces it: nothing to decide, the OOM killer already acted. The probe
 *   notices its kill (`oom_kill` in memory.events / memory.oom_control) so the rest of the tree goes at once, and
 *   keeps the usage for a kernel that records no peak.
 *
 * The loop runs only for runs with a limit; every wait is `setTimeout(ms, undefined, { signal })` under the run's
 * AbortController plus its own, so stopping the guard or ending the run leaves no timer behind (STYLE.md 3).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { RunCgroup } from './cgroup.ts';
import { readMemory, type CgroupVersion } from './cgroup-limits.ts';
import type { ProcReader, ProcStat } from './proc.ts';

export interface MemorySample {
  /** Memory in use now (or the cgroup's peak so far); null when nothing could be read. */
  bytes: number | null;
  /** The limit was hit: the sum went over it, or the kernel OOM-killed in the cgroup. */
  exceeded: boolean;
}

export interface MemoryProbe {
  sample(): Promise<MemorySample>;
}

export interface RssProbeOptions {
  runId: string;
  /** The run's process group (the main process's pid). */
  pgid: number;
  /** The main process's start time: an older process with the same pgid is not the run's. */
  notBeforeStartTime: number | undefined;
  limitBytes: number;
  proc: ProcReader;
  /** The run's v2 cgroup (membership only), if it has one: its members are listed cheaply at every sample. */
  cgroup: RunCgroup | null;
  /** How often the run's processes are looked for anew in all of /proc; between, the ones found are re-read. */
  searchEveryMs: number;
}

/**
 * Total RSS of the run's processes, against the limit.
 *
 * Finding them means reading the stat and environment of every process on the host — about 17 ms of CPU for 90
 * processes here, too much twice a second per run on a 1-CPU box. So the full search runs every `searchEveryMs`;
 * the samples between re-read only the processes it found (their stat, to be sure the pid is still the same
 * process, and their RSS), plus the members of the run's v2 cgroup, which one read lists. A process the run started
 * since the last search is counted from the next one on, unless the cgroup lists it at once.
 */
export class RssProbe implements MemoryProbe {
  private readonly opts: RssProbeOptions;
  private found: ProcStat[] = [];
  private searchedAt = -Infinity;

  constructor(opts: RssProbeOptions) {
    this.opts = opts;
  }

  async sample(): Promise<MemorySample> {
    const { proc, cgroup, limitBytes } = this.opts;
    const [found, members] = await Promise.all([this.runProcesses(), cgroup?.pids() ?? Promise.resolve([])]);
    const pids = new Set([...found.map((p) => p.pid), ...members]);
    const sizes = await Promise.all([...pids].map((pid) => proc.readRssBytes(pid)));
    const bytes = sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0);
    return { bytes, exceeded: bytes > limitBytes };
  }

  private async runProcesses(): Promise<ProcStat[]> {
    const { runId, pgid, notBeforeStartTime, proc, searchEveryMs } = this.opts;
    if (performance.now() - this.searchedAt >= searchEveryMs) {
      this.searchedAt = performance.now();
      this.found = await proc.findRunProcesses(runId, { pgid, notBeforeStartTime });
    } else {
      const alive = await Promise.all(this.found.map((p) => proc.isSameProcessAlive(p.pid, p.startTime)));
      this.found = this.found.filter((_, i) => alive[i] === true);
    }
    return this.found;
  }
}

/** A memory cgroup the kernel enforces: reports its OOM kills and its usage. */
export class CgroupMemoryProbe implements MemoryProbe {
  private readonly cgroup: RunCgroup;
  private readonly version: CgroupVersion;

  constructor(cgroup: RunCgroup, version: CgroupVersion) {
    this.cgroup = cgroup;
    this.version = version;
  }

  async sample(): Promise<MemorySample> {
    const reading = await readMemory(this.cgroup, this.version);
    return { bytes: reading.peakBytes ?? reading.currentBytes, exceeded: reading.oomKills > 0 };
  }
}

export interface GuardOptions {
  everyMs: number;
  /** The run's signal: when the run is over, the guard is too. */
  signal: AbortSignal;
  /** Called once, on the first sample that finds the limit hit; the guard stops then. */
  onExceeded: () => void;
}

/** Samples a probe every `everyMs` until stopped, the run's signal aborts, or the limit is hit; keeps the peak. */
export class MemoryGuard {
  /** The highest sample so far (0 before the first). */
  peakBytes = 0;
  /** Whether a sample found the limit hit. */
  exceeded = false;
  private readonly probe: MemoryProbe;
  private readonly stopper = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(probe: MemoryProbe) {
    this.probe = probe;
  }

  start(opts: GuardOptions): void {
    const signal = AbortSignal.any([opts.signal, this.stopper.signal]);
    this.loop = this.run(opts, signal);
  }

  /** Stops sampling and waits for a sample in flight to finish, so `peakBytes` is final and no timer is left. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  private async run(opts: GuardOptions, signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await sleep(opts.everyMs, undefined, { signal });
      } catch {
        return; // stopped, or the run is over
      }
      let sample: MemorySample;
      try {
        sample = await this.probe.sample();
      } catch {
        continue; // a /proc or cgroupfs hiccup; the next sample tries again
      }
      if (sample.bytes !== null) this.peakBytes = Math.max(this.peakBytes, sample.bytes);
      if (sample.exceeded && !signal.aborted) {
        this.exceeded = true;
        opts.onExceeded();
        return;
      }
    }
  }
}
