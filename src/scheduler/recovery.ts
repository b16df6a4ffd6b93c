import { setTimeout as sleep } from 'node:timers/promises';
import type { JobConfig } from '../config/types.ts';
import type { NewRun, Run, Store } from '../store/types.ts';
import { StoreError } from '../store/errors.ts';
import { isNamedLock } from '../store/coordination-types.ts';
import type { Logger } from '../util/logger.ts';
import { newRunRecord } from './run-records.ts';
import { iso } from '../util/time.ts';
import type { ProcessProbe } from './holder-liveness.ts';
import { decideRetry } from './retry-policy.ts';

export interface RecoveryDeps {
  store: Store;
  probe: ProcessProbe;
  logger: Logger;
  node: string;
  jobs: Readonly<Record<string, JobConfig>>;
  /** Kills every process carrying the run's marker (TERM, a short grace, KILL); resolves with how many survived. */
  killMarked: (run: Run, killGraceMs: number) => Promise<number>;
  /** Several nodes share the store: recover only the runs this node's name left running. */
  ownRunsOnly?: boolean;
  now?: () => number;
}

export interface RecoveryReport {
  lost: Run[];
  retried: number;
  /** Runs left alone because their holder (an `exec` wrapper) is still alive. */
  stillHeld: number;
}

/** A dead daemon's leftover processes get at most this grace: they have been unsupervised since it died. */
const RECOVERY_KILL_GRACE_MS = 2_000;
/** Kill rounds before giving up on a survivor (a process stuck in the kernel, state D, dies only when its I/O ends). */
const MAX_KILL_ROUNDS = 5;
/**
 * A daemon killed while spawning can leave a child between fork and exec: it does not carry the marker yet (its
 * environment is still the daemon's) and its pid was never recorded. Looking again after this long catches it.
 */
const PRE_EXEC_RESCAN_MS = 250;

/**
 * Reconciles the store with reality at daemon start, before anything is scheduled. A run left `running` whose
 * holder process is gone (the daemon was killed with -9, the machine lost power, an `exec` wrapper died) has its
 * leftover processes killed by marker, is marked `lost` with `reason: daemon_restart`, and — unless it came from
 * `exec` (cron owns those) — is retried once, free of charge, per the retry policy. Its lock goes with it.
 */
export async function recoverRuns(deps: RecoveryDeps): Promise<RecoveryReport> {
  const report: RecoveryReport = { lost: [], retried: 0, stillHeld: 0 };
  // In a cluster the others' runs are theirs (a dead node's are reaped by the leader, src/cluster/node-reaper.ts).
  const running = await deps.store.listRuns({ statuses: ['running'], limit: 100_000, ...(deps.ownRunsOnly ? { node: deps.node } : {}) });
  // A run's holder is whichever lock names it: the job lock, or an `exec` without --lock's lock of its own. Named locks
  // (`lock()`, `nightshift lock`) a run took name the run too, but their holder is not its supervisor: left out.
  const holders = new Map(
    (await deps.store.listLocks()).filter((l) => l.run_id !== null && !isNamedLock(l.name)).map((l) => [l.run_id, l]),
  );
  for (const run of running) {
    const holder = holders.get(run.id) ?? null;
    // Only the holder's own process counts here: the dead daemon's children still carry the marker, and those are
    // exactly what must be killed.
    if (holder && holder.pid !== process.pid && (await deps.probe.isAlive(holder.pid, holder.pid_start))) {
      report.stillHeld += 1;
      continue;
    }
    const job = deps.jobs[run.job];
    await killLeftovers(deps, run, Math.min(job?.killGraceMs ?? RECOVERY_KILL_GRACE_MS, RECOVERY_KILL_GRACE_MS));
    const lost = await loseRun(deps, run, 'daemon_restart');
    if (lost === null) continue;
    report.lost.push(lost.run);
    if (lost.retried) report.retried += 1;
  }
  return report;
}

export type LoseRunDeps = Pick<RecoveryDeps, 'store' | 'logger' | 'node' | 'jobs' | 'now'>;

/**
 * Marks a running run whose supervisor is gone `lost` with `reason` and — unless it came from `exec` (cron owns those),
 * a service (its supervisor restarts it) or a task (its queue retries the task) — queues its retry, free of charge, per
 * the job's retry policy; its locks go with it. Null when its supervisor recorded its end first after all.
 */
export async function loseRun(deps: LoseRunDeps, run: Run, reason: 'daemon_restart' | 'node_lost'): Promise<{ run: Run; retried: boolean } | null> {
  const now = deps.now ?? Date.now;
  const end = { status: 'lost', reason, exit_code: null, signal: null, ended_at: iso(now()) } as const;
  const job = deps.jobs[run.job];
  let retry: NewRun | null = null;
  if (job && run.trigger !== 'exec' && run.trigger !== 'task' && job.kind !== 'service') {
    const decision = decideRetry(job.retries, run, end, await deps.store.countLostInChain(run.chain_id));
    if (decision.retry) {
      const request = { trigger: 'retry', scheduledAtMs: now() + decision.delayMs, attempt: run.attempt + 1, chainId: run.chain_id } as const;
      retry = newRunRecord(run.job, request, deps.node, now());
    }
  }
  let lost: Run;
  try {
    lost = await deps.store.finishRun(run.id, end, retry);
  } catch (error) {
    if (error instanceof StoreError && error.code === 'not_running') return null;
    throw error;
  }
  const why = reason === 'node_lost' ? `its node ${run.node} stopped heartbeating` : 'it was left running by a dead supervisor';
  deps.logger.warn({ job: run.job, run: run.id, node: run.node, retry: retry?.id ?? null }, `run marked lost: ${why}`);
  return { run: lost, retried: retry !== null };
}

/**
 * Kills what a dead supervisor left of `run` before the run is marked lost and its job may start again: rounds of
 * TERM/grace/KILL until nothing survives (or MAX_KILL_ROUNDS), plus one more look for a child caught mid-spawn.
 */
export async function killLeftovers(deps: Pick<RecoveryDeps, 'killMarked' | 'logger'>, run: Run, graceMs: number): Promise<void> {
  let survivors = await deps.killMarked(run, graceMs);
  if (run.pid === null) {
    await sleep(PRE_EXEC_RESCAN_MS);
    survivors = await deps.killMarked(run, graceMs);
  }
  for (let round = 1; survivors > 0 && round < MAX_KILL_ROUNDS; round++) survivors = await deps.killMarked(run, 0);
  if (survivors > 0) {
    deps.logger.error({ job: run.job, run: run.id, survivors }, 'processes of a lost run survived SIGKILL; check them with ps');
  }
}
