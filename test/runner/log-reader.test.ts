/** Reading job logs back: across rotated .gz files, by run, and following the active file through rotations. */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { JobLog } from '../../src/runner/output/job-log.ts';
import { LogManager } from '../../src/runner/output/log-manager.ts';
import { followJobLog, readJobLogLines } from '../../src/runner/output/log-reader.ts';
import type { LogRecord } from '../../src/runner/output/record.ts';
import { runProcess } from '../../src/runner/spawn-run.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Janitor, makeSpec, sh } from './helpers.ts';

const janitor = new Janitor();
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await janitor.cleanup();
});

function manager(): LogManager {
  const m = new LogManager({
    logsDir: janitor.tempDir('ns-logs-'),
    maxTotalBytes: 0,
    minFreeDisk: { kind: 'percent', percent: 10 },
    statfs: async () => ({ availableBytes: 50e9, totalBytes: 100e9 }),
  });
  closers.push(() => m.close());
  return m;
}

const small = { maxSizeBytes: 2048, keep: 20, compress: true };
const textOf = (line: string): string => line.split(' ').slice(3).join(' ');

describe('readJobLog', () => {
  it('reads rotated .gz files oldest first, then the active file, filtered by run', async () => {
    const logs = manager();
    // Two runs of one job, overlapping in time, both printing numbered lines with a pause-free loop.
    const specs = ['A', 'B'].map((tag) =>
      janitor.track(makeSpec(sh(`i=0; while [ $i -lt 150 ]; do echo "${tag} $i"; i=$((i+1)); done`), { job: 'multi' })),
    );
    for (const spec of specs) spec.output = logs.sinkFor('multi', spec.runId, small);
    await Promise.all(specs.map((spec) => runProcess(spec)));
    await logs.close();

    const files = readdirSync(join(logs.logsDir, 'multi'));
    expect(files.filter((f) => f.endsWith('.gz')).length).toBeGreaterThanOrEqual(2);

    const [a, b] = specs as [(typeof specs)[0], (typeof specs)[0]];
    expect((await readJobLogLines(logs.logsDir, 'multi', { runId: a.runId })).map(textOf)).toEqual(
      Array.from({ length: 150 }, (_, i) => `A ${i}`),
    );
    expect((await readJobLogLines(logs.logsDir, 'multi', { runId: b.runId })).map(textOf)).toEqual(
      Array.from({ length: 150 }, (_, i) => `B ${i}`),
    );
    expect(await readJobLogLines(logs.logsDir, 'multi')).toHaveLength(300);
    expect(await readJobLogLines(logs.logsDir, 'no-such-job')).toEqual([]);
  });

  it('keeps going past a .gz cut short by a crash', async () => {
    const logs = manager();
    const sink = logs.sinkFor('cut', 'RUN1', small);
    for (let i = 0; i < 100; i++) sink.write('out', Buffer.from(`line ${i} ${'y'.repeat(40)}\n`));
    sink.end();
    await logs.close();
    const dir = join(logs.logsDir, 'cut');
    writeFileSync(join(dir, 'cut.log.19.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01])); // oldest, and broken
    const lines = await readJobLogLines(logs.logsDir, 'cut');
    expect(lines.map((l) => textOf(l).split(' ').slice(0, 2).join(' '))).toEqual(
      Array.from({ length: 100 }, (_, i) => `line ${i}`),
    );
  });
});

describe('followJobLog', () => {
  it('tails the active file through rotations and ends when the signal aborts', async () => {
    const logsDir = janitor.tempDir('ns-logs-');
    const log = new JobLog({ path: join(logsDir, 'tail', 'tail.log'), maxSizeBytes: 1024, keep: 2, compress: true });
    closers.push(() => log.close());
    log.write('OLD', Buffer.from('2026-01-01T00:00:00.000Z OLD o before the follow started\n'));
    await waitFor(() => readdirSync(join(logsDir, 'tail')).includes('tail.log'), 5000, 'the active file');

    const ac = new AbortController();
    const got: LogRecord[] = [];
    const following = (async () => {
      const opts = { runId: 'RUN1', signal: ac.signal, pollMs: 20, from: 'start' as const };
      for await (const r of followJobLog(logsDir, 'tail', opts)) got.push(r);
    })();
    // A first record of the run tells us the follower has the file open (from its start; OLD is filtered out).
    log.write('RUN1', Buffer.from('2026-01-01T00:00:00.000Z RUN1 o hello\n'));
    await waitFor(() => got.length === 1, 5000, 'the follower to open the file');
    const write = (text: string): void => log.write('RUN1', Buffer.from(`2026-01-01T00:00:00.000Z RUN1 o ${text}\n`));
    const expected = ['hello'];
    for (let batch = 0; batch < 5; batch++) {
      // ~1 KiB: rotates the 1 KiB file. A record of another run in between must not show.
      for (let i = 0; i < 10; i++) write(`${batch * 10 + i} ${'z'.repeat(60)}`);
      log.write('OTHER', Buffer.from('2026-01-01T00:00:00.000Z OTHER o not this run\n'));
      expected.push(...Array.from({ length: 10 }, (_, i) => `${batch * 10 + i} ${'z'.repeat(60)}`));
      await waitFor(() => got.length === expected.length, 5000, `batch ${batch}`);
      // Written after that batch's rotation, a short record lands in the fresh file. Once the follower has it, it
      // follows that file, so the next batch cannot be created and rotated away between two polls (which `-f`,
      // like `tail -F`, would miss).
      write(`sync ${batch}`);
      expected.push(`sync ${batch}`);
      await waitFor(() => got.length === expected.length, 5000, `sync ${batch}`);
    }
    ac.abort();
    await following; // the iteration ends by itself
    expect(got.map((r) => r.text)).toEqual(expected);
    expect(got.every((r) => r.runId === 'RUN1')).toBe(true);
    expect(readdirSync(join(logsDir, 'tail')).some((f) => f.endsWith('.gz'))).toBe(true); // it did rotate
  });
});
