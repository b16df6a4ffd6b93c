/** What a run reports about itself: heartbeats, outputs and spend (breakers, budgets), and a Retry-After. */
import { call, daemonFromEnv, durationArg, ownRun } from './client.ts';

/** Tells the daemon the run is alive (resets its heartbeat timer). Also: `nightshift heartbeat [NOTE]`. */
export async function heartbeat(note?: string): Promise<void> {
  const daemon = daemonFromEnv();
  const run = ownRun(daemon, 'heartbeat()');
  await call(daemon, 'POST', `/runs/${encodeURIComponent(run)}/heartbeat`, { body: note === undefined ? {} : { note } });
}

/** Counts `n` outputs (posts, messages) toward the job's breaker. Also: `nightshift output [N]`. */
export async function output(n = 1): Promise<void> {
  const daemon = daemonFromEnv();
  const run = ownRun(daemon, 'output()');
  await call(daemon, 'POST', `/runs/${encodeURIComponent(run)}/outputs`, { body: { outputs: n } });
}

/** Adds `amount` to the job's spend budget. Also: `nightshift output 0 --spend X`. */
export async function spend(amount: number): Promise<void> {
  const daemon = daemonFromEnv();
  const run = ownRun(daemon, 'spend()');
  await call(daemon, 'POST', `/runs/${encodeURIComponent(run)}/outputs`, { body: { outputs: 0, spend: amount } });
}

/** The next retry waits at least this long when the run exits 75 (a rate limit said so). Also: `nightshift retry-after`. */
export async function retryAfter(after: string | number): Promise<void> {
  const daemon = daemonFromEnv();
  const run = ownRun(daemon, 'retryAfter()');
  await call(daemon, 'POST', `/runs/${encodeURIComponent(run)}/retry-after`, { body: { after: durationArg(after) } });
}
