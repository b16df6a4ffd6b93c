/**
 * Seed 002's memory steward: two agents updating one key at once never lose an update. Two real job processes, run
 * by a real daemon, each call state.update() in a loop through the SDK with their own run tokens; the count must be
 * exact, the audit log must name both writers, and update() must have met conflicts (the writers really raced).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { fixtureCommand } from './helpers.ts';
import { join } from 'node:path';
import { readJobLogLines } from '../../src/runner/output/log-reader.ts';

const TIMES = 150;

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

describe('state: concurrent writers', () => {
  it('two processes doing update() in a loop on one key lose nothing', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 1s
jobs:
  writer-a:
    command: ${fixtureCommand('count-up', String(TIMES))}
    env: { PEERS: writer-b }
    timeout: 2m
  writer-b:
    command: ${fixtureCommand('count-up', String(TIMES))}
    env: { PEERS: writer-a }
    timeout: 2m
`));
    const a = await t.daemon.trigger('writer-a', 'api');
    const b = await t.daemon.trigger('writer-b', 'api');
    expect([a.status, b.status]).toEqual(['running', 'running']);
    for (const [job, run] of [['writer-a', a], ['writer-b', b]] as const) {
      const runs = await t.waitForRuns(job, `${job} to finish`, (list) => list.some((r) => r.id === run.id && r.status !== 'running'), 100_000);
      const ended = runs.find((r) => r.id === run.id)!;
      expect(ended.status, ended.error ?? '').toBe('succeeded');
    }

    const counter = await t.daemon.store.getState('counter');
    expect(counter?.value).toBe(2 * TIMES);
    expect(counter?.version).toBe(2 * TIMES);

    // Every version was written exactly once, by one of the two runs, as itself.
    const log = await t.daemon.store.listStateLog('counter', 1000);
    expect(log).toHaveLength(100); // the log keeps the newest 100 per key (COORDINATION.state.log_keep)
    expect(log.map((e) => e.version)).toEqual(Array.from({ length: 100 }, (_, i) => 2 * TIMES - i));
    expect(log.every((e) => e.value === e.version)).toBe(true);
    // Both wrote the newest 100 unless one ran ahead of the other (a loaded box): each entry is one of the two runs.
    const writers = new Set([`writer-a/${a.id}`, `writer-b/${b.id}`]);
    expect(log.filter((e) => !writers.has(`${e.job}/${e.run_id}`))).toEqual([]);

    // The writers really raced: between them, update() re-applied its function after conflicts.
    let calls = 0;
    for (const [job, run] of [['writer-a', a], ['writer-b', b]] as const) {
      const lines = await readJobLogLines(join(t.config.stateDir, 'logs'), job, { runId: run.id });
      const said = /updates=(\d+) calls=(\d+)/.exec(lines.join('\n'));
      expect(said?.[1]).toBe(String(TIMES));
      calls += Number(said?.[2]);
    }
    expect(calls).toBeGreaterThan(2 * TIMES);
  }, 120_000);
});
