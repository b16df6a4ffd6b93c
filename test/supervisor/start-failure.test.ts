/**
 * Start failures (seed 003: 3,751 failures of a launchd job whose PATH lacked the interpreter): recognised, not
 * retried or restarted in a loop, one incident naming what was missing, the PATH and where it does exist; a reload
 * or `resume` tries again. Real daemon, real processes.
 */
import { dirname } from 'node:path';
import { writeFileSync, chmodSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { count, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { closeReceivers, deliveredOf, hookChannel } from '../watch/helpers.ts';
import { jobStatus, post } from './helpers.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
  await closeReceivers();
});

describe('start failures', () => {
  it('a service whose PATH lacks its interpreter: failed start_failed once, no restart loop, an incident saying where node is', async () => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  chat:
    command: [node, -e, 'setInterval(() => {}, 1000)']
    env: { PATH: /opt/nothing-here/bin }
    restart: always
`));
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'start_failure', 'chat').length === 1, 8000, 'the start_failure incident');
    const [told] = deliveredOf(receiver, 'incident.opened', 'start_failure', 'chat');
    expect(told!.incident.summary).toMatch(/^job chat cannot start: spawn node ENOENT/);
    expect(told!.incident.detail).toMatchObject({ path: '/opt/nothing-here/bin', missing: 'node' });
    expect(told!.incident.detail.found_at).toContain(`${dirname(process.execPath)}/node`);
    expect(told!.incident.detail.fix).toMatch(/use the full path in the command, or set PATH under env:/);
    const runs = await t.runs('chat');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed', reason: 'start_failed' });
    expect(await jobStatus(t, 'chat')).toMatchObject({ state: 'halted', state_reason: expect.stringMatching(/^start_failed/), hint: expect.stringMatching(/reload the config or `nightshift resume chat`/) });
    // No restart queued (the one run above is all there is), and no run_failed on top of the start failure.
    expect(deliveredOf(receiver, 'incident.opened', 'run_failed')).toHaveLength(0);

    // Fixed in the config and reloaded: it starts again, and stays up.
    t.writeConfig(`${yaml}
shutdown_grace: 500ms
jobs:
  chat:
    command: [node, -e, 'setInterval(() => {}, 1000)']
    env: { PATH: ${dirname(process.execPath)}:/usr/bin:/bin }
    restart: always
`);
    expect(await t.daemon.reload()).toBe(true);
    await t.waitForRuns('chat', 'a running start after the reload', (list) => list.some((r) => r.status === 'running'));
    await waitFor(() => deliveredOf(receiver, 'incident.resolved', 'start_failure', 'chat').length === 1, 5000, 'start_failure resolved');
  });

  it.each([
    ['a shell command that is not installed (exit 127)', 'python9 run.py', /^job scan cannot start: command python9 not found \(exit 127\)/],
    ['a script whose #! interpreter is missing', './tool.sh', /^job scan cannot start: interpreter nosuch-interp not found \(exit 127\)/],
    ['a Ruby program missing a library in its first second', "sh -c 'echo \"<internal:rubygems>: cannot load such file -- bundler/setup (LoadError)\" >&2; exit 1'", /^job scan cannot start: Ruby library bundler\/setup not found \(exit 1\)/],
  ])('%s: start_failed, later fires skipped as halted, resume tries again', async (_what, command, summary) => {
    const { receiver, yaml } = await hookChannel();
    const t = (current = await startTestDaemon(`${yaml}
shutdown_grace: 500ms
jobs:
  scan:
    command: ${JSON.stringify(command)}
    schedule: "* * * * * *"
    retries: { max: 5, backoff: 100ms }
`));
    writeFileSync(`${t.dir}/tool.sh`, '#!/usr/bin/env nosuch-interp\nprint("hi")\n');
    chmodSync(`${t.dir}/tool.sh`, 0o755);
    await waitFor(() => deliveredOf(receiver, 'incident.opened', 'start_failure', 'scan').length === 1, 8000, 'start_failure');
    expect(deliveredOf(receiver, 'incident.opened', 'start_failure', 'scan')[0]!.incident.summary).toMatch(summary);
    const runs = await t.waitForRuns('scan', 'a fire skipped as halted', (list) => count(list, 'skipped', 'halted') >= 1);
    expect(count(runs, 'failed', 'start_failed')).toBe(1);
    expect(runs.filter((r) => r.trigger === 'retry')).toHaveLength(0); // not retried

    expect((await post(t, '/jobs/scan/resume')).status).toBe(200);
    await t.waitForRuns('scan', 'a second attempt after resume', (list) => count(list, 'failed', 'start_failed') === 2);
  });
});
