/**
 * `nightshift history JOB [--json] [--limit N]`: a job's runs, newest first, the last 100 unless --limit.
 * The 105 runs are written straight into the project's SQLite file (as the daemon would record them), which is
 * what the CLI then reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/util/ids.ts';
import type { Run } from '../../src/store/types.ts';
import { RUN_KEYS, cleanupAll, makeProject, parseJson, type Project } from './helpers.ts';

afterEach(cleanupAll);

/** Records `n` finished runs of `job`, one second apart, oldest first; returns their ids in that order. */
async function recordRuns(p: Project, job: string, n: number): Promise<string[]> {
  const store = await p.store();
  const ids: string[] = [];
  const t0 = Date.now() - n * 1_000;
  for (let i = 0; i < n; i++) {
    const at = t0 + i * 1_000;
    const id = newRunId(at);
    const when = new Date(at).toISOString();
    const failed = i % 3 === 0;
    await store.insertRun(
      { id, job, attempt: 1, chain_id: id, trigger: 'schedule', scheduled_at: when, node: 'test' },
      { status: failed ? 'failed' : 'succeeded', reason: null, exit_code: failed ? 1 : 0, signal: null, ended_at: when },
    );
    ids.push(id);
  }
  await store.close();
  return ids;
}

describe('nightshift history', () => {
  it('--json lists Runs newest first, the last 100 by default, --limit N of them', async () => {
    const p = await makeProject('jobs:\n  scan: { command: "true" }\n  other: { command: "true" }\n');
    const ids = await recordRuns(p, 'scan', 105);
    await recordRuns(p, 'other', 2);
    const newestFirst = [...ids].reverse();

    const all = await p.cli(['history', 'scan', '--json']);
    expect(all.code).toBe(0);
    expect(all.stderr).toBe('');
    const runs = parseJson<Run[]>(all);
    expect(runs.map((r) => r.id)).toEqual(newestFirst.slice(0, 100));
    for (const run of runs) {
      expect(Object.keys(run)).toEqual(expect.arrayContaining(RUN_KEYS));
      expect(run.job).toBe('scan');
    }

    const five = parseJson<Run[]>(await p.cli(['history', 'scan', '--json', '--limit', '5']));
    expect(five.map((r) => r.id)).toEqual(newestFirst.slice(0, 5));
    const more = parseJson<Run[]>(await p.cli(['history', 'scan', '--json', '--limit', '500']));
    expect(more).toHaveLength(105);
  });

  it('--limit 0, abc or 10001 is exit 2 naming --limit; an unknown job is exit 2', async () => {
    const p = await makeProject('jobs:\n  scan: { command: "true" }\n');
    for (const bad of ['0', 'abc', '10001']) {
      expect(await p.cli(['history', 'scan', '--limit', bad])).toEqual({
        code: 2,
        stdout: '',
        stderr: `nightshift: --limit must be a whole number from 1 to 10000; got '${bad}'\n`,
      });
    }
    expect(await p.cli(['history', 'scna', '--json'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "nightshift: no job named 'scna' (configured jobs: scan)\n",
    });
  });

  it('without --json prints a table, or a line when there are no runs yet', async () => {
    const p = await makeProject('jobs:\n  scan: { command: "true" }\n');
    expect(await p.cli(['history', 'scan'])).toEqual({ code: 0, stdout: 'no runs of scan yet\n', stderr: '' });
    const ids = await recordRuns(p, 'scan', 2);
    const table = await p.cli(['history', 'scan']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN +ATTEMPT +TRIGGER +SCHEDULED +STARTED +RESULT +DURATION$/);
    expect(lines[1]).toMatch(new RegExp(`^${ids[1]} +1 +schedule +\\S+ +- +succeeded +-$`));
    expect(lines[2]).toMatch(new RegExp(`^${ids[0]} +1 +schedule +\\S+ +- +failed exit 1 +-$`));
    expect(table.stdout).not.toContain('\u001b[');
  });
});
