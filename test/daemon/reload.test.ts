/**
 * SIGHUP reload: a valid file applies to new runs without touching running ones; an invalid one is logged and the
 * running config is kept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { count, makeDir, startTestDaemon, type TestDaemon } from './harness.ts';
import { exited, freePort, spawnDaemon } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

describe('reload', () => {
  it('applies a valid config to new runs and leaves a running run alone', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  long:
    command: sleep 1
`));
    const running = await t.daemon.trigger('long', 'api');
    t.writeConfig(`
shutdown_grace: 500ms
jobs:
  long:
    command: exit 4
  tick:
    command: "true"
    schedule: "* * * * * *"
`);
    expect(await t.daemon.reload()).toBe(true);
    expect(Object.keys(t.daemon.config().jobs)).toEqual(['long', 'tick']);
    // The run that was going keeps the command it started with.
    const ended = await t.waitForRuns('long', 'the running run to end', (r) => r.some((x) => x.id === running.id && x.status !== 'running'));
    expect(ended.find((x) => x.id === running.id)).toMatchObject({ status: 'succeeded', exit_code: 0 });
    // New runs get the new definition, and the new job is scheduled.
    await t.daemon.trigger('long', 'api');
    await t.waitForRuns('long', 'a run with the new command', (r) => r.some((x) => x.exit_code === 4));
    await t.waitForRuns('tick', 'the new job to fire', (r) => count(r, 'succeeded') >= 1);
  });

  it('keeps the running config when the new file is invalid', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  tick:
    command: "true"
    schedule: "* * * * * *"
`));
    t.writeConfig(`jobs:\n  tick:\n    command: "true"\n    schedule: "every second"\n`);
    expect(await t.daemon.reload()).toBe(false);
    expect(t.daemon.config().jobs.tick?.schedule).toBe('* * * * * *');
    const before = count(await t.runs('tick'), 'succeeded');
    await t.waitForRuns('tick', 'the job to keep firing', (r) => count(r, 'succeeded') > before);
  });
});

describe('SIGHUP on the real daemon process', () => {
  it('reloads on SIGHUP and logs an invalid file as one clear line', async () => {
    const dir = makeDir();
    const port = await freePort();
    const path = join(dir, 'nightshift.yaml');
    const base = `shutdown_grace: 500ms\nhttp: { listen: "127.0.0.1:${port}" }\njobs:\n  a:\n    command: "true"\n`;
    writeFileSync(path, base);
    const daemon = spawnDaemon(path, { NIGHTSHIFT_LOG_LEVEL: 'info' });
    try {
      const jobs = async () => {
        try {
          return ((await (await fetch(`http://127.0.0.1:${port}/api/v1/jobs`)).json()) as Array<{ name: string }>).map((j) => j.name);
        } catch {
          return [];
        }
      };
      await waitFor(async () => (await jobs()).includes('a'), 15_000, 'the daemon to answer');
      writeFileSync(path, `${base}  b:\n    command: "true"\n`);
      daemon.kill('SIGHUP');
      await waitFor(async () => (await jobs()).includes('b'), 10_000, 'job b after SIGHUP');
      writeFileSync(path, `${base}  b:\n    command: "true"\n    timout: 5s\n`);
      daemon.kill('SIGHUP');
      await waitFor(() => daemon.output().includes("unknown key 'timout'; did you mean 'timeout'?"), 10_000, 'the reload error in the log');
      expect(daemon.output()).toContain('keeping the running config');
      expect(await jobs()).toEqual(['a', 'b']);
    } finally {
      daemon.kill('SIGTERM');
      await exited(daemon);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
