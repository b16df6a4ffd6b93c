/** Facts from /proc and /sys: CPUs, load, memory, OOM kills since boot, and the processes running. */
import { join } from 'node:path';
import { ProcReader } from '../../runner/proc.ts';
import { mapBounded, readCgroupPath, readCmdline, readCwd, readEnviron, readStat, readUid } from '../../runner/proc-details.ts';
import { markerValues } from '../../runner/proc.ts';
import { RUN_MARKER_VAR } from '../../runner/types.ts';
import { countCpuinfo, parseCpuList, parseLoadavg, parseMeminfo, parseVmstatOomKills } from '../parse/proc.ts';
import type { HostProcess, LoadAverage, MemInfo } from '../types.ts';
import type { HostFs } from './host-fs.ts';

export async function collectCpuCount(fs: HostFs): Promise<number | null> {
  const online = await fs.text('/sys/devices/system/cpu/online');
  const fromSys = online === null ? null : parseCpuList(online);
  if (fromSys !== null) return fromSys;
  const cpuinfo = await fs.text('/proc/cpuinfo');
  return cpuinfo === null ? null : countCpuinfo(cpuinfo);
}

export async function collectLoad(fs: HostFs): Promise<LoadAverage | null> {
  const text = await fs.text('/proc/loadavg');
  return text === null ? null : parseLoadavg(text);
}

export async function collectMemory(fs: HostFs): Promise<MemInfo | null> {
  const text = await fs.text('/proc/meminfo');
  return text === null ? null : parseMeminfo(text);
}

export async function collectOomKillsSinceBoot(fs: HostFs): Promise<number | null> {
  const text = await fs.text('/proc/vmstat');
  return text === null ? null : parseVmstatOomKills(text);
}

/**
 * Every user process (kernel threads and zombies have an empty cmdline and are left out) with what the duplicate
 * check needs. Reads are bounded in flight, as the duplicate scan's are.
 */
export async function collectProcesses(fs: HostFs): Promise<HostProcess[] | null> {
  const procRoot = fs.at('/proc');
  const pids = (await new ProcReader(procRoot).listPids()).sort((a, b) => a - b);
  if (pids.length === 0) return null;
  return mapBounded(pids, 32, async (pid): Promise<HostProcess | null> => {
    const argv = await readCmdline(procRoot, pid);
    if (argv === null || argv.length === 0) return null;
    const [stat, uid, cwd, environ, cgroup] = await Promise.all([
      readStat(procRoot, pid),
      readUid(procRoot, pid),
      readCwd(procRoot, pid),
      readEnviron(procRoot, pid),
      readCgroupPath(procRoot, pid),
    ]);
    if (stat === null || stat.kernelThread || stat.state === 'Z') return null;
    const marked = environ.ok ? markerValues(environ.data, RUN_MARKER_VAR).some((v) => v !== '') : null;
    const unit = cgroup === null ? null : (/([^/]+\.service)(?:\/[^/]*)?$/.exec(cgroup)?.[1] ?? null);
    return { pid, ppid: stat.ppid, uid, argv, cwd: cwd === null ? null : fromRoot(fs, cwd), marked, unit };
  });
}

/** A cwd link read under --root points into the fixture tree (or anywhere, for a relative link): as a host path. */
function fromRoot(fs: HostFs, target: string): string {
  if (fs.root === '/') return target;
  const prefix = join(fs.root, '/');
  return target.startsWith(prefix) ? `/${target.slice(prefix.length)}` : target;
}
