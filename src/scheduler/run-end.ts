import { formatSizeApprox } from '../config/units.ts';
import type { RunEnd, RunReason } from '../store/types.ts';
import { MEMORY_REASON, type RunMemory, type RunResult } from '../runner/types.ts';

/** Abort reasons that are run reasons of their own; any other cancellation ends `killed` with no reason code. */
const KILL_REASONS: ReadonlySet<string> = new Set<RunReason>(['stalled', 'memory', 'replaced', 'shutdown', 'breaker_open']);

/** The abort reason of runs a fenced node kills (Dispatcher.abandonAll): they end `lost` with `reason: node_lost`. */
export const NODE_LOST = 'node_lost';

/** How the runner's result is recorded: the status and reason codes of the JSON contract. */
export function endFromResult(result: RunResult, endedAt: string): RunEnd {
  const base = {
    exit_code: result.exitCode,
    signal: result.signal,
    ended_at: endedAt,
    orphans_killed: result.orphansKilled,
    error: result.startError,
  };
  switch (result.endedBy) {
    case 'exited':
      return { ...base, status: result.exitCode === 0 ? 'succeeded' : 'failed', reason: null };
    case 'timed_out':
      return { ...base, status: 'timed_out', reason: 'timeout' };
    case 'cancelled': {
      const reason = result.cancelReason;
      if (reason === MEMORY_REASON && result.memory !== null) {
        return { ...base, status: 'killed', reason: 'memory', error: describeMemoryKill(result.memory) };
      }
      // Killed because its node was declared dead meanwhile (src/cluster/): recorded as the leader records it, lost —
      // whichever of the two writes first, the run ends lost once, with one retry.
      if (reason === NODE_LOST) return { ...base, status: 'lost', reason: 'node_lost' };
      if (reason !== null && KILL_REASONS.has(reason)) return { ...base, status: 'killed', reason: reason as RunReason };
      return { ...base, status: 'killed', reason: null, error: `stopped by ${reason ?? 'request'}` };
    }
    case 'start_failed':
      return { ...base, status: 'failed', reason: 'start_failed' };
  }
}

/**
 * The run's `error` when its memory limit ended it, naming who enforced it: `memory limit 512M exceeded (peak 530M,
 * cgroup v2 OOM kill)`, or `… (peak 530M, sampled RSS of the run's processes)`.
 */
export function describeMemoryKill(memory: RunMemory): string {
  const by =
    memory.via === 'cgroup'
      ? `cgroup v${memory.cgroupVersion ?? 2} OOM kill${memory.oomKills > 1 ? ` of ${memory.oomKills} processes` : ''}`
      : "sampled RSS of the run's processes";
  const [limit, peak] = [formatSizeApprox(memory.limitBytes), formatSizeApprox(memory.peakBytes)];
  return `memory limit ${limit} exceeded (peak ${peak}, ${by})`;
}
