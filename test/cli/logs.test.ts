/**
 * `nightshift logs JOB [--run ID] [-n N] [-t] [-f]`: what jobs printed, read back from the job's log files. Runs are
 * made with `nightshift exec` (no daemon needed); the log format is the same for daemon runs (see run.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/store/types.ts';
import { ISO_UTC, cleanupAll, finished, makeProject, waitFor, type Project } from './helpers.ts';

afterEach(cleanupAll);

const CONFIG = `
jobs:
  talk: { command: "true" }
  quiet: { command: "true" }
`;

async function execRun(p: Project, script: string): Promise<Run> {
  const result = await p.cli(['exec', '--job', 'talk', '--', 'sh', '-c', script]);
  expect(result.code).toBe(0);
  return (await p.runs('talk', 1))[0]!;
}

describe('nightshift logs', () => {
  it('prints what the job printed; --run filters to one run; -n N keeps the last N lines; -t adds time and stream', async () => {
    const p = await makeProject(CONFIG);
    const a = await execRun(p, 'for i in 1 2 3 4; do echo "A$i"; done');
    // The pause orders the two streams in the log (they are separate pipes).
    const b = await execRun(p, 'echo B1; sleep 0.2; echo B2 >&2');

    expect(await p.cli(['logs', 'talk'])).toEqual({ code: 0, stdout: 'A1\nA2\nA3\nA4\nB1\nB2\n', stderr: '' });
    expect(await p.cli(['logs', 'talk', '--run', a.id])).toEqual({ code: 0, stdout: 'A1\nA2\nA3\nA4\n', stderr: '' });
    expect(await p.cli(['logs', 'talk', '-n', '3'])).toEqual({ code: 0, stdout: 'A4\nB1\nB2\n', stderr: '' });

    const stamped = await p.cli(['logs', 'talk', '--run', b.id, '--timestamps']);
    expect(stamped.code).toBe(0);
    const lines = stamped.stdout.trimEnd().split('\n').map((line) => line.split(' '));
    expect(lines.map(([, stream, text]) => [stream, text])).toEqual([
      ['o', 'B1'],
      ['e', 'B2'],
    ]);
    for (const [time] of lines) expect(time).toMatch(ISO_UTC);
  });

  it('an unknown job or a bad -n is exit 2; a job with no output says so on stderr and exits 0', async () => {
    const p = await makeProject(CONFIG);
    expect(await p.cli(['logs', 'tallk'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "nightshift: no job named 'tallk' (configured jobs: talk, quiet)\n",
    });
    const badLines = await p.cli(['logs', 'talk', '-n', '0']);
    expect(badLines.code).toBe(2);
    expect(badLines.stderr).toBe("nightshift: --lines must be a whole number from 1 to 10000; got '0'\n");
    expect(await p.cli(['logs', 'quiet'])).toEqual({ code: 0, stdout: '', stderr: 'nightshift: no output recorded for quiet\n' });
  });

  it('-f --run ID on a running run prints its lines as they come and exits by itself when the run ends', async () => {
    const p = await makeProject(CONFIG);
    const gate = join(p.dir, 'gate');
    const exec = p.start(['exec', '--job', 'talk', '--', 'sh', '-c', `echo first; while [ ! -e ${gate} ]; do sleep 0.05; done; echo second; echo third`]);
    await waitFor(() => exec.stdout().includes('first'), 10_000, 'the exec run to print its first line');
    const [run] = await p.runs('talk', 1);
    expect(run).toMatchObject({ status: 'running' });

    const follow = p.start(['logs', 'talk', '-f', '--run', run!.id]);
    await waitFor(() => follow.stdout() === 'first\n', 10_000, 'logs -f to print the line already written');
    writeFileSync(gate, '');
    const followed = await finished(follow, 10_000, 'logs -f --run after the run ended');
    expect(followed).toEqual({ code: 0, stdout: 'first\nsecond\nthird\n', stderr: '' });
    expect((await finished(exec, 10_000, 'the exec run')).code).toBe(0);
  });

  it('-f without --run follows new runs until interrupted (SIGINT exits 0)', async () => {
    const p = await makeProject(CONFIG);
    await execRun(p, 'echo old');
    const follow = p.start(['logs', 'talk', '-f']);
    await waitFor(() => follow.stdout() === 'old\n', 10_000, 'logs -f to print the existing line');
    await execRun(p, 'echo new');
    await waitFor(() => follow.stdout() === 'old\nnew\n', 10_000, 'logs -f to print the new run');
    follow.child.kill('SIGINT');
    expect(await finished(follow, 5_000, 'logs -f after SIGINT')).toEqual({ code: 0, stdout: 'old\nnew\n', stderr: '' });
  });
});
