/**
 * Memory limits and admission through the daemon: a leaker is killed for memory with one incident; a run waits for
 * memory instead of starting into the OOM killer, and starts once there is enough. Real daemon, real processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, deliveredOf, hookChannel } from '../watch/helpers.ts';
import { post } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

describe('memory', () => {
  it('a job leaking past memory: 64M is killed (reason memory) with one memory incident naming the peak', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  leaker:
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(`${FIXTURES}leak.mjs`)}, leak, '20', '100', '1024']
    memory: 64M
`));
    await post(t, '/jobs/leaker/runs');
    const [run] = await t.waitForRuns('leaker', 'the kill', (runs) => runs.some((r) => r.status === 'killed'), 20_000);
    expect(run).toMatchObject({ status: 'killed', reason: 'memory', error: expect.stringMatching(/^memory limit 64M exceeded \(peak \d+(\.\d)?M, /) });
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'memory', 'leaker').length === 1, 5000, 'the memory incident');
    expect(deliveredOf(receiver, 'incident.opened', 'memory', 'leaker')[0]!.incident.summary).toContain('memory limit 64M exceeded');
  });
});

describe('admission', () => {
  it('below limits.min_available_memory a run waits queued; it starts once the floor allows it', async () => {
    const config = (floor: string) => `
shutdown_grace: 500ms
limits: { min_available_memory: ${floor} }
jobs:
  big: { command: 'true' }
`;
    const t = (current = await startTestDaemon(config('100T')));
    const response = await post(t, '/jobs/big/runs');
    expect(((await response.json()) as { run: { status: string } }).run.status).toBe('queued');
    expect((await t.runs('big'))[0]).toMatchObject({ status: 'queued' });
    t.writeConfig(config('0'));
    expect(await t.daemon.reload()).toBe(true);
    // Looked at again every ADMISSION.recheck (5 s).
    await t.waitForRuns('big', 'the run to start and succeed', (runs) => runs.some((r) => r.status === 'succeeded'), 15_000);
  });
});
