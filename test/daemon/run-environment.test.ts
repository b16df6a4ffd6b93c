/**
 * What a run sees: its environment (env_file, env, the NIGHTSHIFT_* variables), its user, its working directory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDir, startTestDaemon, type TestDaemon } from './harness.ts';
import { readJobLogLines } from '../../src/runner/output/log-reader.ts';
import { waitFor } from '../helpers/wait-for.ts';

let current: TestDaemon | null = null;
afterEach(async () => {
  await current?.cleanup();
  current = null;
});

async function outputOf(t: TestDaemon, job: string): Promise<string[]> {
  const run = await t.daemon.trigger(job, 'api');
  const runs = await t.waitForRuns(job, `${job} to end`, (r) => r.some((x) => x.id === run.id && x.status !== 'running'));
  const final = runs.find((x) => x.id === run.id)!;
  expect(final.status, final.error ?? '').toBe('succeeded');
  return waitFor(async () => {
    const lines = await readJobLogLines(join(t.config.stateDir, 'logs'), job, { runId: run.id });
    return lines.length ? lines.map((l) => l.split(' ').slice(3).join(' ')) : null;
  }, 5_000, `${job} output`);
}

describe('run environment', () => {
  it('layers env_file under env and gives every run its NIGHTSHIFT_* variables', async () => {
    const dir = makeDir();
    writeFileSync(join(dir, '.env'), 'FROM_FILE=file\nOVERRIDDEN=file\n');
    mkdirSync(join(dir, 'work'));
    const t = (current = await startTestDaemon(
      `
shutdown_grace: 500ms
jobs:
  show:
    command: 'echo "$FROM_FILE $OVERRIDDEN $NIGHTSHIFT_JOB $NIGHTSHIFT_ATTEMPT $(pwd)"; echo "$NIGHTSHIFT_RUN_ID|$NIGHTSHIFT_URL|$NIGHTSHIFT_HEARTBEAT_URL|$NIGHTSHIFT_RUN_TOKEN|\${NIGHTSHIFT_DEGRADED:-none}"'
    cwd: work
    env_file: .env
    env: { OVERRIDDEN: env }
`,
      { dir },
    ));
    const [first, second] = await outputOf(t, 'show');
    expect(first).toBe(`file env show 1 ${join(dir, 'work')}`);
    const [runId, url, heartbeatUrl, token, degraded] = second!.split('|');
    expect(url).toBe(t.url);
    expect(heartbeatUrl).toBe(`${t.url}/api/v1/runs/${runId}/heartbeat?token=${encodeURIComponent(token!)}`);
    expect(token!.startsWith(`${runId}.`)).toBe(true);
    expect(degraded).toBe('none');
  });

  it('runs as the configured user, with that user\'s HOME', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  who:
    command: 'echo "$(id -un) $(id -u) $HOME $USER"'
    cwd: /
    user: nobody
`));
    const [line] = await outputOf(t, 'who');
    expect(line).toMatch(/^nobody \d+ \S+ nobody$/);
    expect(line).not.toMatch(/^nobody 0 /);
  });

  it('a missing env_file fails the run as start_failed, naming the file and the fix', async () => {
    const t = (current = await startTestDaemon(`
shutdown_grace: 500ms
jobs:
  broken:
    command: "true"
    env_file: missing.env
    retries: 2
`));
    const run = await t.daemon.trigger('broken', 'api');
    const runs = await t.waitForRuns('broken', 'the failed start', (r) => r.some((x) => x.id === run.id && x.status === 'failed'));
    const failed = runs.find((x) => x.id === run.id)!;
    expect(failed.reason).toBe('start_failed');
    expect(failed.error).toBe(`env_file ${join(t.dir, 'missing.env')} of job broken cannot be read (ENOENT); fix the path or remove env_file`);
    // A start failure is not retried: it will not fix itself.
    expect(runs).toHaveLength(1);
  });
});
