import type { LockRecord } from '../store/types.ts';
import { ProcReader } from '../runner/proc.ts';
import { killTree } from '../runner/kill-tree.ts';
import type { RunCgroups } from '../runner/cgroup.ts';
import type { ProcessProbe } from './holder-liveness.ts';

/**
 * This host's processes as the scheduler sees them: is a lock holder alive, what still carries a run's marker, and
 * killing a run's leftovers by marker. Reads /proc under an injectable root.
 */
export class HostProcesses implements ProcessProbe {
  private readonly proc: ProcReader;
  private cgroups: RunCgroups | null = null;

  constructor(procRoot?: string) {
    this.proc = new ProcReader(procRoot);
  }

  /** Where run cgroups live, once detected: a dead daemon's run cgroup also holds what escaped marker and group. */
  useCgroups(cgroups: RunCgroups | null): void {
    this.cgroups = cgroups;
  }

  async isAlive(pid: number, startTime: number | null): Promise<boolean> {
    if (startTime !== null) return this.proc.isSameProcessAlive(pid, startTime);
    const stat = await this.proc.readStat(pid);
    return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
  }

  markedPids(runId: string): Promise<number[]> {
    return this.proc.findMarkedPids(runId);
  }

  startTimeOf(pid: number): Promise<number | null> {
    return this.proc.pidStartTime(pid);
  }

  /**
   * Kills everything still carrying the run's marker, its process group when the group still exists, and the members
   * of the run's cgroup when one was left behind; then removes that cgroup.
   */
  async killMarked(runId: string, pgid: number | null, graceMs: number): Promise<number> {
    const cgroup = (await this.cgroups?.find(runId)) ?? null;
    const result = await killTree({ runId, pgid, graceMs, proc: this.proc, ...(cgroup ? { cgroup } : {}) });
    await cgroup?.remove();
    return result.survivors;
  }

  /** Stops a lock holder outside this daemon: the holder's marked tree, then the holder process itself. */
  async killHolder(holder: LockRecord, graceMs: number): Promise<void> {
    if (holder.run_id) await this.killMarked(holder.run_id, null, graceMs);
    if (await this.isAlive(holder.pid, holder.pid_start)) {
      try {
        process.kill(holder.pid, 'SIGTERM');
      } catch {
        // Gone already, or not ours to signal: the lock reclaim that follows decides.
      }
    }
  }
}
