/**
 * Memory and CPU limits through cgroups: which mechanism this host offers (detected once, like the run cgroups), and
 * the files a run cgroup gets written and read. The per-run choice is run-limits.ts's; the sampling fallback is
 * memory-guard.ts's.
 *
 * cgroup v2 first. The run cgroups (`…/nightshift-runs/run-<id>`, cgroup.ts) carry `memory.max` and `cpu.max` only
 * when `nightshift-runs` has the controllers in its `cgroup.subtree_control`, which in turn needs them in its
 * parent's (the daemon's own cgroup). Enabling them there is refused (EBUSY) while that cgroup has processes of its
 * own — cgroup v2's "no internal processes" rule, from which only the host's root cgroup is exempt (not the root of
 * a cgroup namespace) — so today this works only for a daemon in the root cgroup. Under systemd (`Delegate=yes`) the
 * daemon sits in its service's cgroup itself; it would have to move into a leaf of it first (a follow-up for the
 * daemon). `nightshift-runs` never holds a process, so enabling them in it is always allowed.
 * Where a controller is bound to a cgroup v1 hierarchy instead (hybrid hosts), that hierarchy is used (cgroup-v1.ts).
 * Otherwise memory falls back to sampling RSS, and a CPU quota is not enforced: `notes` says why, for the start log.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import {
  errCode,
  writeExisting,
  writeExistingSync,
  type CgroupLogger,
  type RunCgroup,
  type RunCgroups,
} from './cgroup.ts';
import { detectV1RunCgroups } from './cgroup-v1.ts';

export type CgroupVersion = 1 | 2;

/** What this host offers for `memory:` and `cpu:`. Made once by `detectRunLimits`; passed to every run. */
export interface RunLimitSupport {
  /** How a memory limit is enforced: by the kernel in a run cgroup, or by sampling the tree's RSS. */
  readonly memory: 'cgroup v2' | 'cgroup v1' | 'rss';
  /** How a CPU quota is enforced; null: it is not, on this host (the run's `cpu.enforced` is then false). */
  readonly cpu: 'cgroup v2' | 'cgroup v1' | null;
  /** The v1 hierarchies' run cgroups, where `memory` / `cpu` is `cgroup v1`; else null. */
  readonly v1Memory: RunCgroups | null;
  readonly v1Cpu: RunCgroups | null;
  /** One line for each limit not enforced through cgroup v2, saying why (and what is done instead). */
  readonly notes: readonly string[];
  readonly logger?: CgroupLogger | undefined;
}

/** No cgroup: memory by RSS sampling, no CPU quota. What a run gets when the caller passes no support. */
export const SAMPLING_ONLY: RunLimitSupport = {
  memory: 'rss',
  cpu: null,
  v1Memory: null,
  v1Cpu: null,
  notes: [],
};

export interface DetectLimitsOptions {
  /** The v2 run cgroups from `detectRunCgroups` (null where there are none). */
  cgroups: RunCgroups | null;
  procRoot?: string;
  logger?: CgroupLogger;
  /** The directory name under this process's v1 cgroups; tests use their own so they never touch a daemon's. */
  v1DirName?: string;
}

/**
 * Works out how memory and CPU limits are enforced here: enables `memory` and `cpu` for the v2 run cgroups where
 * allowed, else looks for writable v1 hierarchies. Never throws; what cannot be used is explained in `notes`.
 */
export async function detectRunLimits(opts: DetectLimitsOptions): Promise<RunLimitSupport> {
  const notes: string[] = [];
  type Choice = { via: 'cgroup v2' | 'cgroup v1'; v1: RunCgroups | null } | null;
  const pick = async (controller: 'memory' | 'cpu'): Promise<Choice> => {
    let why = 'there is no writable cgroup v2';
    if (opts.cgroups !== null) {
      const refused = await enableController(opts.cgroups.base, controller);
      if (refused === null) return { via: 'cgroup v2', v1: null };
      why = refused;
    }
    const { logger, procRoot, v1DirName: dirName } = opts;
    const v1 = await detectV1RunCgroups(controller, { logger, dirName, procRoot });
    if (v1 !== null && (await exists(join(v1.base, V1_FILES[controller])))) {
      notes.push(`${controller}: ${why}; the cgroup v1 hierarchy is used instead (${v1.base})`);
      return { via: 'cgroup v1', v1 };
    }
    notes.push(`${controller}: ${why}, and no writable cgroup v1 ${controller} hierarchy`);
    return null;
  };
  const memory = await pick('memory');
  const cpu = await pick('cpu');
  return {
    memory: memory?.via ?? 'rss',
    cpu: cpu?.via ?? null,
    v1Memory: memory?.v1 ?? null,
    v1Cpu: cpu?.v1 ?? null,
    notes,
    logger: opts.logger,
  };
}

/** One line for the start log: `memory limits: cgroup v2; cpu quotas: not enforced (…)`. */
export function describeLimitSupport(support: RunLimitSupport): string {
  const memory = support.memory === 'rss' ? 'sampled RSS' : support.memory;
  const cpu = support.cpu ?? 'not enforced';
  const why = support.notes.length > 0 ? ` (${support.notes.join('; ')})` : '';
  return `memory limits: ${memory}; cpu quotas: ${cpu}${why}`;
}

/**
 * The limits configured on jobs that this host cannot enforce as asked, as `jobs.<name>.cpu` — for one warning at
 * start and after a reload (`cpu:` has no fallback; `memory:` always has RSS sampling, so it is never listed).
 */
export function unenforcedLimits(
  jobs: Iterable<{ name: string; cpuPercent: number | null }>,
  support: RunLimitSupport,
): string[] {
  if (support.cpu !== null) return [];
  return [...jobs].filter((job) => job.cpuPercent !== null).map((job) => `jobs.${job.name}.cpu`);
}

/** A file that exists only where the controller is usable in that v1 hierarchy (CFS bandwidth can be compiled out). */
const V1_FILES = { memory: 'memory.limit_in_bytes', cpu: 'cpu.cfs_quota_us' } as const;

/**
 * Makes `controller` available to the run cgroups under `base`: in `base`'s subtree_control, and first in its parent's
 * where needed. Returns null when it is enabled, else why not (for the notes).
 */
export async function enableController(base: string, controller: string): Promise<string | null> {
  const parent = dirname(base);
  if ((await controllersIn(join(base, 'cgroup.subtree_control'))).has(controller)) return null;
  if (!(await controllersIn(join(base, 'cgroup.controllers'))).has(controller)) {
    if (!(await controllersIn(join(parent, 'cgroup.controllers'))).has(controller)) {
      return `cgroup v2 has no ${controller} controller for ${parent} (on a hybrid host it is bound to cgroup v1)`;
    }
    try {
      await writeExisting(join(parent, 'cgroup.subtree_control'), `+${controller}`);
    } catch (err) {
      if (errCode(err) === 'EBUSY') {
        return (
          `cannot enable ${controller} in ${parent}: that cgroup holds processes (the daemon's own), and cgroup v2 ` +
          'enables controllers only below cgroups without processes (the root cgroup excepted)'
        );
      }
      return `cannot enable ${controller} in ${parent}/cgroup.subtree_control: ${errCode(err)}`;
    }
  }
  try {
    await writeExisting(join(base, 'cgroup.subtree_control'), `+${controller}`);
  } catch (err) {
    return `cannot enable ${controller} in ${base}/cgroup.subtree_control: ${errCode(err)}`;
  }
  return (await controllersIn(join(base, 'cgroup.subtree_control'))).has(controller)
    ? null
    : `${controller} did not stay enabled in ${base}/cgroup.subtree_control`;
}

/**
 * Writes a memory limit into a run cgroup, before its process moves in (so it applies from the process's arrival).
 * False — logged — when the cgroup has no such file or refuses: the run falls back to RSS sampling.
 */
export function writeMemoryLimit(
  cgroup: RunCgroup,
  version: CgroupVersion,
  bytes: number,
  logger?: CgroupLogger,
): boolean {
  const at = (file: string): string => join(cgroup.path, file);
  try {
    if (version === 2) {
      writeExistingSync(at('memory.max'), String(bytes));
      // Without this the kernel would swap the excess out instead of OOM-killing: the limit dodged, the disk thrashed.
      writeIfPresent(at('memory.swap.max'), '0');
      // On OOM the kernel kills the whole run at once, not just its biggest process and leaves the rest half-working.
      writeIfPresent(at('memory.oom.group'), '1');
    } else {
      writeExistingSync(at('memory.limit_in_bytes'), String(bytes));
      writeIfPresent(at('memory.memsw.limit_in_bytes'), String(bytes)); // memory + swap ≤ the limit: no swap
    }
    return true;
  } catch (err) {
    logger?.warn({ cgroup: cgroup.path, err: errCode(err) }, 'cannot write the memory limit: RSS sampling instead');
    return false;
  }
}

/** CFS quota for `percent` of one CPU per `periodUs`; the kernel's minimum quota is 1 ms. */
export function cpuQuotaUs(percent: number, periodUs: number): number {
  return Math.max(1000, Math.round((percent / 100) * periodUs));
}

/** Writes a CPU quota (`cpu.max`, or v1's cfs files); false — logged — when the cgroup has no such file. */
export function writeCpuLimit(
  cgroup: RunCgroup,
  version: CgroupVersion,
  percent: number,
  periodUs: number,
  logger?: CgroupLogger,
): boolean {
  const quotaUs = cpuQuotaUs(percent, periodUs);
  try {
    if (version === 2) {
      writeExistingSync(join(cgroup.path, 'cpu.max'), `${quotaUs} ${periodUs}`);
    } else {
      writeExistingSync(join(cgroup.path, 'cpu.cfs_period_us'), String(periodUs));
      writeExistingSync(join(cgroup.path, 'cpu.cfs_quota_us'), String(quotaUs));
    }
    return true;
  } catch (err) {
    logger?.warn({ cgroup: cgroup.path, err: errCode(err) }, 'cannot write the cpu quota: not enforced for this run');
    return false;
  }
}

export interface MemoryReading {
  /** In use now (page cache included, as the kernel charges it); null when unreadable. */
  currentBytes: number | null;
  /** The cgroup's high-water mark; null where the kernel keeps none (v2 before Linux 5.19). */
  peakBytes: number | null;
  /** Processes the kernel's OOM killer killed in the cgroup. */
  oomKills: number;
}

/** Reads a memory cgroup's usage, peak and OOM kills; missing files read as null / 0. Never throws. */
export async function readMemory(cgroup: RunCgroup, version: CgroupVersion): Promise<MemoryReading> {
  const files =
    version === 2
      ? { current: 'memory.current', peak: 'memory.peak', events: 'memory.events' }
      : { current: 'memory.usage_in_bytes', peak: 'memory.max_usage_in_bytes', events: 'memory.oom_control' };
  const read = (file: string): Promise<string | null> => readFile(join(cgroup.path, file), 'utf8').catch(() => null);
  const [current, peak, events] = await Promise.all([read(files.current), read(files.peak), read(files.events)]);
  return { currentBytes: number(current), peakBytes: number(peak), oomKills: keyed(events, 'oom_kill') ?? 0 };
}

function number(text: string | null | undefined): number | null {
  const value = Number(text?.trim());
  return text != null && text.trim() !== '' && Number.isSafeInteger(value) ? value : null;
}

/** The value of `key` in a flat-keyed file (`oom_kill 3` in memory.events or v1's memory.oom_control). */
function keyed(text: string | null | undefined, key: string): number | null {
  const match = text ? new RegExp(`^${key} (\\d+)$`, 'm').exec(text) : null;
  return match ? Number(match[1]) : null;
}

/** Controller names in a cgroup.controllers / cgroup.subtree_control file; empty when unreadable. */
async function controllersIn(path: string): Promise<Set<string>> {
  try {
    return new Set((await readFile(path, 'utf8')).split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}

/** A file only some kernels have (memory.swap.max needs swap accounting; memory.peak is 5.19+). */
function writeIfPresent(path: string, value: string): void {
  try {
    writeExistingSync(path, value);
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
