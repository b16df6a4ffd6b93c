/**
 * cgroup v1 hierarchies, used for the resource limits only (cgroup-limits.ts), where the `memory` or `cpu` controller
 * is bound to a v1 hierarchy rather than to cgroup2. That is the case on "hybrid" hosts (cgroup2 mounted at
 * /sys/fs/cgroup/unified with no controllers but membership; older Ubuntu, Debian 10, many container sandboxes) and on
 * v1-only distributions (CentOS 7). A controller can be attached to one hierarchy only, so there the v2 run cgroup
 * cannot limit anything, while `/sys/fs/cgroup/memory/<our cgroup>/` can hold a child per run just the same.
 *
 * Layout: `<the controller's v1 mount><this process's cgroup in that hierarchy>/nightshift-runs/run-<run id>`, the
 * shape of the v2 run cgroups (cgroup.ts), in each v1 hierarchy used; the directory class is shared, because
 * `cgroup.procs`, rmdir and the sweep work alike. v1 has no `cgroup.kill`, so a kill through it signals each member.
 *
 * Optional like the rest: null when the controller has no v1 mount, this process is not in it, or its cgroup there is
 * not writable. Paths come from an injectable `/proc` root and the mount points named in its mountinfo.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  cgroupDirOf,
  errCode,
  runCgroupsUnder,
  unescapeMountField,
  type CgroupLogger,
  type DetectOptions,
  type RunCgroups,
} from './cgroup.ts';

/** The v1 controllers the limits use. */
export type V1Controller = 'memory' | 'cpu';

export interface CgroupV1Mount {
  mountPoint: string;
  /** The cgroup shown at the mount point (mountinfo field 4); `/` unless a sub-tree was bind-mounted. */
  root: string;
  /** Controllers attached to this hierarchy, from the super options (`rw,cpu,cpuacct` → cpu, cpuacct). */
  controllers: string[];
}

/** Mount options that are not controller names. */
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode']);

/** The cgroup (v1) mounts of a mountinfo file: fstype `cgroup`, controllers in the super options after the source. */
export function parseCgroupV1Mounts(mountinfo: string): CgroupV1Mount[] {
  const mounts: CgroupV1Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep === -1) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOptions] = line.slice(sep + 3).split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (fstype !== 'cgroup' || root === undefined || mountPoint === undefined || superOptions === undefined) continue;
    const controllers = superOptions
      .split(',')
      .filter((option) => !NOT_CONTROLLERS.has(option) && !option.includes('='));
    mounts.push({ root: unescapeMountField(root), mountPoint: unescapeMountField(mountPoint), controllers });
  }
  return mounts;
}

/**
 * This process's cgroup in the v1 hierarchy that carries `controller`, from a /proc/PID/cgroup file
 * (`4:memory:/system.slice/x.service`, `3:cpu,cpuacct:/`); null when no line names it.
 */
export function parseOwnV1Cgroup(content: string, controller: string): string | null {
  for (const line of content.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first === -1 || second === -1) continue;
    if (!line.slice(first + 1, second).split(',').includes(controller)) continue;
    const path = line.slice(second + 1).trim();
    return path.startsWith('/') ? path : null;
  }
  return null;
}

/**
 * The run cgroups of the v1 hierarchy that carries `controller`: `<our cgroup there>/nightshift-runs` (or
 * `dirName`), created and swept like the v2 one. Null — logged at debug with the reason — where there is none.
 */
export async function detectV1RunCgroups(
  controller: V1Controller,
  opts: DetectOptions = {},
): Promise<RunCgroups | null> {
  const procRoot = opts.procRoot ?? '/proc';
  const logger: CgroupLogger | undefined = opts.logger;
  const unavailable = (reason: string, fields: Record<string, unknown> = {}): null => {
    logger?.debug({ ...fields, controller, reason }, 'no cgroup v1 hierarchy for run limits');
    return null;
  };
  let mountinfo: string;
  let ownCgroups: string;
  try {
    [mountinfo, ownCgroups] = await Promise.all([
      readFile(join(procRoot, 'self', 'mountinfo'), 'utf8'),
      readFile(join(procRoot, 'self', 'cgroup'), 'utf8'),
    ]);
  } catch (err) {
    return unavailable(`cannot read ${procRoot}/self: ${errCode(err)}`);
  }
  const mounts = parseCgroupV1Mounts(mountinfo).filter((m) => m.controllers.includes(controller));
  if (mounts.length === 0) return unavailable(`no cgroup v1 mount with the ${controller} controller`);
  const own = parseOwnV1Cgroup(ownCgroups, controller);
  if (own === null) return unavailable(`this process has no ${controller} cgroup (no v1 line names it)`);
  const ownDir = cgroupDirOf(mounts, own);
  if (ownDir === null) return unavailable(`cgroup ${own} is not visible under the ${controller} mount`, { mounts });
  return runCgroupsUnder(ownDir, { dirName: opts.dirName, logger }, unavailable);
}
