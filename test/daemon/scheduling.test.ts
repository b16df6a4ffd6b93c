/**
 * The daemon end to end: real schedules firing real processes, recorded in a real SQLite file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { count, startTestDaemon, type TestDaemon } from './harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { readJobLog } from '../../src/runner/output/log-reader.ts';

async function logTexts(dir: string, job: string, runId: string): Promise<string[]> {
  const texts: string[] = [];
  for await (const record of readJobLog(dir, job, { runId })) texts.push(record.text);
  return texts;
}

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

async function start(yaml: string): Promise<TestDaemon> {
  current = await startTestDaemon(`shutdown_grace: 500ms\n${yaml}`);
  return current;
}

describe('scheduled jobs', () => {
  it('fires a per-second schedule and records each run with its output', async () => {
    const t = await start(`
jobs:
  tick:
    command: echo "tick $NIGHTSHIFT_JOB attempt $NIGHTSHIFT_ATTEMPT"
    schedule: "* * * * * *"
`);
    const runs = await t.waitForRuns('tick', 'two succeeded runs', (r) => count(r, 'succeeded') >= 2);
    const done = runs.filter((r) => r.status === 'succeeded');
    for (const run of done) {
      expect(run).toMatchObject({ trigger: 'schedule', attempt: 1, exit_code: 0, reason: null });
      expect(Date.parse(run.scheduled_at) % 1000).toBe(0);
      expect(Date.parse(run.started_at!)).toBeGreaterThanOrEqual(Date.parse(run.scheduled_at));
      expect(run.duration_ms).toBeGreaterThanOrEqual(0);
    }
    // Output reaches the log file asynchronously; wait for it rather than for a guessed time.
    const texts = await waitFor(async () => {
      const found = await logTexts(`${t.config.stateDir}/logs`, 'tick', done[0]!.id);
      return found.length ? found : null;
    }, 5_000, 'the run output in the job log');
    expect(texts).toEqual(['tick tick attempt 1']);
  });

  it('overlap: skip records the start it did not make, and never runs two at once', async () => {
    const t = await start(`
jobs:
  slow:
    command: sleep 2.2
    schedule: "* * * * * *"
    overlap: skip
`);
    const runs = await t.waitForRuns('slow', 'a skipped overlap and a success', (r) => count(r, 'skipped', 'overlap') >= 2 && count(r, 'succeeded') >= 1);
    const skipped = runs.find((r) => r.status === 'skipped')!;
    expect(skipped).toMatchObject({ trigger: 'schedule', started_at: null, exit_code: null });
    expect(count(await t.runs('slow'), 'running')).toBeLessThanOrEqual(1);
  });

  it('overlap: queue holds one pending start and runs it when the lock frees', async () => {
    const t = await start(`
jobs:
  slow:
    command: sleep 1.5
    schedule: "* * * * * *"
    overlap: queue
`);
    const runs = await t.waitForRuns('slow', 'a queued start that ran', (r) =>
      r.some((run) => run.status === 'succeeded' && Date.parse(run.started_at!) - Date.parse(run.scheduled_at) > 500),
    );
    expect(count(runs, 'queued')).toBeLessThanOrEqual(1);
    expect(count(runs, 'skipped', 'overlap')).toBeGreaterThanOrEqual(1);
  });

  it('overlap: replace kills the running tree first', async () => {
    const t = await start(`
jobs:
  long:
    command: sleep 60
    schedule: "*/2 * * * * *"
    overlap: replace
    kill_grace: 500ms
`);
    const runs = await t.waitForRuns('long', 'a replaced run', (r) => count(r, 'killed', 'replaced') >= 1);
    const replaced = runs.find((r) => r.reason === 'replaced')!;
    expect(replaced.signal).toBe('SIGTERM');
    expect(count(runs, 'running')).toBeLessThanOrEqual(1);
  });

  it('pause records fires as skipped (reason paused); resume schedules again', async () => {
    const t = await start(`
jobs:
  tick:
    command: "true"
    schedule: "* * * * * *"
`);
    await t.daemon.setPaused('tick', true);
    await t.waitForRuns('tick', 'a paused skip', (r) => count(r, 'skipped', 'paused') >= 1);
    const before = count(await t.runs('tick'), 'succeeded');
    await t.daemon.setPaused('tick', false);
    await t.waitForRuns('tick', 'a run after resume', (r) => count(r, 'succeeded') > before);
  });
});

describe('retries', () => {
  it('retries: 2 makes three attempts with backoff, then stops', async () => {
    const t = await start(`
jobs:
  flaky:
    command: exit 3
    retries: { max: 2, backoff: 100ms, max_backoff: 200ms }
`);
    const first = await t.daemon.trigger('flaky', 'api');
    const runs = await t.waitForRuns('flaky', 'three failed attempts', (r) => count(r, 'failed') === 3);
    const chain = runs.filter((r) => r.chain_id === first.id).sort((a, b) => a.attempt - b.attempt);
    expect(chain.map((r) => [r.attempt, r.trigger, r.status, r.exit_code])).toEqual([
      [1, 'api', 'failed', 3],
      [2, 'retry', 'failed', 3],
      [3, 'retry', 'failed', 3],
    ]);
    // No fourth attempt is pending.
    expect(count(await t.runs('flaky'), 'queued')).toBe(0);
  });

  it('a timeout kills the whole tree, ends timed_out and is retried', async () => {
    const t = await start(`
jobs:
  hang:
    command: sleep 60
    timeout: 300ms
    kill_grace: 200ms
    retries: { max: 1, backoff: 100ms }
`);
    await t.daemon.trigger('hang', 'api');
    const runs = await t.waitForRuns('hang', 'two timed out attempts', (r) => count(r, 'timed_out', 'timeout') === 2);
    expect(runs.map((r) => r.attempt).sort()).toEqual([1, 2]);
  });
});

describe('shutdown', () => {
  it('kills runs still going after shutdown_grace, records them, and queues them for the next start', async () => {
    const t = await start(`
jobs:
  long:
    command: sleep 60
    kill_grace: 200ms
`);
    const run = await t.daemon.trigger('long', 'api');
    await t.waitForRuns('long', 'the run to start', (r) => r.some((x) => x.id === run.id && x.pid !== null));
    await t.daemon.stop();
    // The store is closed with the daemon; reopen through a second daemon on the same directory.
    current = null;
    const again = await startTestDaemon(`shutdown_grace: 500ms\njobs:\n  long:\n    command: "true"\n`, { dir: t.dir });
    current = again;
    const runs = await again.waitForRuns('long', 'the killed run and its retry', (r) =>
      r.some((x) => x.id === run.id && x.status === 'killed' && x.reason === 'shutdown') &&
      r.some((x) => x.chain_id === run.id && x.attempt === 2 && x.status === 'succeeded'),
    );
    expect(runs.find((x) => x.chain_id === run.id && x.attempt === 2)?.trigger).toBe('retry');
  });

  it('stops a service at once instead of waiting out shutdown_grace for it (it never finishes on its own)', async () => {
    current = await startTestDaemon(`shutdown_grace: 30s
jobs:
  worker:
    command: sleep 60
    restart: always
    kill_grace: 200ms
`);
    const t = current;
    const [run] = await t.waitForRuns('worker', 'the service to run', (r) => r.some((x) => x.status === 'running' && x.pid !== null));
    const began = performance.now();
    await t.daemon.stop();
    // Far below the 30 s grace: SIGTERM at once ends `sleep`.
    expect(performance.now() - began).toBeLessThan(10_000);
    current = null;
    const again = await startTestDaemon(`jobs:\n  other:\n    command: "true"\n`, { dir: t.dir });
    current = again;
    const [stopped] = await again.runs('worker', 5).then((runs) => runs.filter((x) => x.id === run!.id));
    expect(stopped).toMatchObject({ status: 'killed', reason: 'shutdown', signal: 'SIGTERM' });
  });
});
