/**
 * What the leader does with a node declared dead: every run it supervised is marked `lost` (`reason: node_lost`) and
 * retried on whichever node claims the retry, per the job's policy; its job locks go with the runs. On a shared host
 * (several nodes on one machine) what the dead node left still running is killed by marker first, as a restarted
 * daemon would; on another host nothing carries the marker here and this finds nothing.
 */
import type { Run } from '../store/types.ts';
import { killLeftovers, loseRun, type LoseRunDeps } from '../scheduler/recovery.ts';
import type { ReapNode } from './membership.ts';

export interface NodeReaperDeps extends LoseRunDeps {
  killMarked: (run: Run, killGraceMs: number) => Promise<number>;
  /** After a node's runs are dealt with: services it ran start again here, retries are looked at. */
  onReaped: () => void;
}

/** A lost run's leftovers are given no grace: they have run unsupervised since the node went silent. */
const REAP_KILL_GRACE_MS = 0;

export function nodeReaper(deps: NodeReaperDeps): ReapNode {
  return async (node) => {
    const running = await deps.store.listRuns({ statuses: ['running'], node, limit: 100_000 });
    for (const run of running) {
      await killLeftovers(deps, run, REAP_KILL_GRACE_MS);
      await loseRun(deps, run, 'node_lost');
    }
    if (running.length > 0) deps.onReaped();
  };
}
