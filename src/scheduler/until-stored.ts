/**
 * Writes that must not be lost when the database is briefly away: a run's end above all. DESIGN.md's durability rule
 * is "written before it is acted on"; a run that ended while PostgreSQL restarts has nothing left to act on but its
 * record, so the write is retried — on a doubling backoff, and at once when the store is seen back — until it lands,
 * rather than logged and dropped (which left the run `running` until the next daemon start marked it lost).
 *
 * Only failures that say the database did not answer are retried (`cannot_open`, and SQLite's `busy`); a refused
 * write (the run is no longer running …) is the caller's to handle. The retrying stops when `signal` aborts (the
 * daemon's shutdown ran out of time): the write's error is thrown, and the next start recovers the run.
 */
import { parseDuration } from '../config/units.ts';
import { STORE_HEALTH } from '../config/defaults.ts';
import { isStoreError } from '../store/errors.ts';
import type { NewRun, Run, RunEnd, Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';

export interface StoreRetry {
  logger: Logger;
  /** Resolves when the store is seen reachable again; null when it is not known to be down. */
  whenUp?: () => Promise<void> | null;
  /** Aborted: stop retrying and throw the last error. */
  signal: AbortSignal;
  /** Log fields naming what is written (e.g. the run). */
  context: Record<string, unknown>;
}

function retryable(error: unknown): boolean {
  return isStoreError(error, 'cannot_open') || isStoreError(error, 'busy');
}

/** `write()`, again and again while the store is unreachable. `onRetried` learns that an attempt failed first. */
export async function untilStored<T>(what: string, write: () => Promise<T>, retry: StoreRetry, onRetried?: () => void): Promise<T> {
  let delayMs = parseDuration(STORE_HEALTH.probe_initial);
  const maxMs = parseDuration(STORE_HEALTH.probe_max);
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!retryable(error) || retry.signal.aborted) throw error;
      if (attempt === 1) {
        retry.logger.warn({ ...retry.context, err: error }, `could not ${what}: the database did not answer; retrying until it does`);
        onRetried?.();
      }
      await waitToRetry(delayMs, retry);
      if (retry.signal.aborted) throw error;
      delayMs = Math.min(delayMs * 2, maxMs);
    }
  }
}

/** The backoff, cut short when the store is seen back or the retrying is aborted; its timer never outlives it. */
async function waitToRetry(delayMs: number, retry: StoreRetry): Promise<void> {
  if (retry.signal.aborted) return;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, delayMs);
    onAbort = resolve;
    retry.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([elapsed, retry.whenUp?.() ?? elapsed]);
  } finally {
    clearTimeout(timer);
    if (onAbort) retry.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * `finishRun` until it is stored. An attempt whose commit went through but whose answer was lost makes the next one
 * find the run no longer running: then the run as recorded is the result, not an error.
 */
export async function finishUntilStored(store: Store, runId: string, end: RunEnd, next: NewRun | null, retry: StoreRetry): Promise<Run> {
  let retried = false;
  try {
    return await untilStored('record the end of a run', () => store.finishRun(runId, end, next), retry, () => (retried = true));
  } catch (error) {
    if (!retried || !isStoreError(error, 'not_running')) throw error;
    const recorded = await untilStored('read back the end of a run', () => store.getRun(runId), retry);
    if (recorded === null) throw error;
    return recorded;
  }
}
