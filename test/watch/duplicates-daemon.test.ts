/** Seed 001's second worker copy, end to end: a hand-started copy of a service's command is an incident naming it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { exited } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, deliveredOf, hookChannel } from './helpers.ts';

let current: TestDaemon | null = null;
const started: ChildProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    child.kill('SIGKILL');
    await exited(child);
  }
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

describe('duplicate workers', () => {
  it('a copy of a running service started by hand opens process.duplicate with its pid, and clears when it is gone', async () => {
    const tag = `rivet-worker-${process.pid}-${Date.now()}`;
    const { receiver, yaml } = await hookChannel();
    current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  worker:
    command: [${JSON.stringify(process.execPath)}, -e, 'setInterval(() => {}, 1000)', ${tag}]
    restart: always
`);
    const t = current;
    await t.waitForRuns('worker', 'the service running', (runs) => runs.some((r) => r.status === 'running'));
    // The copy: the same command, started outside nightshift (no run marker in its environment).
    const env = { ...process.env };
    delete env.NIGHTSHIFT_RUN_ID;
    const copy = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', tag], { env, stdio: 'ignore' });
    started.push(copy);
    // The next scan is at most DUPLICATE_SCAN_EVERY (30 s) away; a restart of the service would scan at once.
    await t.daemon.watching.duplicates.runStarting(t.config.jobs.worker!);
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'process.duplicate', 'worker').length === 1, 10_000, 'process.duplicate');
    const [told] = deliveredOf(receiver, 'incident.opened', 'process.duplicate', 'worker');
    expect(told!.incident.summary).toContain(String(copy.pid));
    copy.kill('SIGKILL');
    await exited(copy);
    await t.daemon.watching.duplicates.runStarting(t.config.jobs.worker!);
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'process.duplicate', 'worker').length === 1, 10_000, 'cleared');
  });
});
