/**
 * How a run that hit its memory limit is recorded: `killed`, reason `memory`, and an `error` that names the limit, the
 * peak and who enforced it — so `history` answers "why was it killed, and by how much was it over?".
 */
import { describe, expect, it } from 'vitest';

import type { RunResult } from '../../src/runner/types.ts';
import { describeMemoryKill, endFromResult } from '../../src/scheduler/run-end.ts';

const MB = 1024 * 1024;
const base: RunResult = {
  endedBy: 'exited',
  exitCode: 0,
  signal: null,
  pid: 42,
  cancelReason: null,
  startError: null,
  orphansKilled: 0,
  survivors: 0,
  durationMs: 10,
  memory: null,
  cpu: null,
};

describe('endFromResult with memory limits', () => {
  it('a kernel OOM kill in the run cgroup', () => {
    const result: RunResult = {
      ...base,
      endedBy: 'cancelled',
      cancelReason: 'memory',
      exitCode: null,
      signal: 'SIGKILL',
      memory: { limitBytes: 512 * MB, peakBytes: 530 * MB, via: 'cgroup', cgroupVersion: 2, exceeded: true, oomKills: 1 },
    };
    expect(endFromResult(result, 'now')).toMatchObject({
      status: 'killed',
      reason: 'memory',
      error: 'memory limit 512M exceeded (peak 530M, cgroup v2 OOM kill)',
    });
  });

  it('sampled RSS, and sizes rounded for reading', () => {
    const memory = { limitBytes: 1024 * MB, peakBytes: 1229 * MB, via: 'rss', cgroupVersion: null, exceeded: true, oomKills: 0 } as const;
    expect(describeMemoryKill(memory)).toBe("memory limit 1G exceeded (peak 1.2G, sampled RSS of the run's processes)");
    expect(describeMemoryKill({ ...memory, via: 'cgroup', cgroupVersion: 1, oomKills: 3 })).toBe(
      'memory limit 1G exceeded (peak 1.2G, cgroup v1 OOM kill of 3 processes)',
    );
  });

  it('a run under its limit is recorded as before; a memory cancel without a report keeps no error', () => {
    const memory = { limitBytes: 64 * MB, peakBytes: 3 * MB, via: 'rss', cgroupVersion: null, exceeded: false, oomKills: 0 } as const;
    expect(endFromResult({ ...base, memory }, 'now')).toMatchObject({ status: 'succeeded', reason: null, error: null });
    expect(endFromResult({ ...base, endedBy: 'cancelled', cancelReason: 'memory' }, 'now')).toMatchObject({
      status: 'killed',
      reason: 'memory',
      error: null,
    });
  });
});
