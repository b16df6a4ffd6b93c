/** JobLog on its own: the backlog bound, keep: 0, and a log file that cannot be opened. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { JobLog } from '../../src/runner/output/job-log.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Janitor } from './helpers.ts';

const janitor = new Janitor();
const logs: JobLog[] = [];
afterEach(async () => {
  await Promise.all(logs.splice(0).map((l) => l.close()));
  await janitor.cleanup();
});

function jobLog(opts: Partial<ConstructorParameters<typeof JobLog>[0]> = {}): { log: JobLog; path: string } {
  const path = join(janitor.tempDir('ns-joblog-'), 'job', 'job.log');
  const log = new JobLog({ path, maxSizeBytes: 1024 * 1024, keep: 1, compress: false, ...opts });
  logs.push(log);
  return { log, path };
}

const rec = (runId: string, text: string): Buffer => Buffer.from(`2026-01-01T00:00:00.000Z ${runId} o ${text}\n`);
function read(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').filter((l) => l !== '');
  } catch {
    return []; // not created yet
  }
}

describe('JobLog', () => {
  it('drops records past the backlog bound, then writes a marker before the next accepted record', async () => {
    const { log, path } = jobLog({ maxBacklogBytes: 100 });
    const r = (text: string): Buffer => rec('R', text.padEnd(10, '.')); // 40 bytes each
    // Waiting before each write: 0, 40, 80 (accepted), then 120 > 100 (dropped), all in one turn of the loop.
    for (const text of ['one', 'two', 'three', 'lost-1', 'lost-2']) log.write('R', r(text));
    // Wait until the writer has handed everything to the file, not merely until the lines show: on a loaded machine
    // the stream's buffer can still count them a moment after they are readable.
    await waitFor(() => read(path).length === 3 && log.backlogBytes === 0, 5000, 'the accepted records on disk');
    log.write('R', r('after'));
    await log.close();
    const lines = read(path);
    expect(lines.map((l) => l.split(' ').slice(2).join(' ').replace(/\.+$/, ''))).toEqual([
      'o one',
      'o two',
      'o three',
      'n [nightshift] dropped 80 bytes of output: the log writer fell more than 100 B behind ' +
        '(output arrived faster than it could be written and rotated)',
      'o after',
    ]);
  });

  it('writes a pending marker when the run ends, even while output is still being dropped', async () => {
    const { log, path } = jobLog({ gate: () => ({ key: 'test', text: 'the gate is closed' }) });
    log.write('R', rec('R', 'lost'));
    log.runEnded('R');
    await log.close();
    const bytes = rec('R', 'lost').length;
    expect(read(path)).toEqual([expect.stringMatching(new RegExp(` R n \\[nightshift\\] dropped ${bytes} bytes of output: the gate is closed$`))]);
  });

  it('keeps no rotated file with keep: 0', async () => {
    const { log, path } = jobLog({ maxSizeBytes: 100, keep: 0 });
    for (let i = 0; i < 5; i++) {
      log.write('R', rec('R', `line ${i} ${'x'.repeat(60)}`));
      await waitFor(() => readdirSync(join(path, '..')).length === 1, 5000, 'rotation to finish');
    }
    await log.close();
    expect(readdirSync(join(path, '..'))).toEqual(['job.log']);
  });

  it('drops (and never throws) when the log file cannot be opened', async () => {
    const dir = janitor.tempDir('ns-joblog-');
    writeFileSync(join(dir, 'job'), 'a file where the job directory should be');
    const log = new JobLog({ path: join(dir, 'job', 'job.log'), maxSizeBytes: 1024, keep: 1, compress: false });
    logs.push(log);
    expect(() => log.write('R', rec('R', 'nowhere to go'))).not.toThrow();
    expect(() => log.runEnded('R')).not.toThrow();
  });
});
