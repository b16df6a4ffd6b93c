/**
 * Output capture end to end with real processes: a fast, large writer is never blocked; rotation, compression and
 * keep are honoured; max_total and the free-disk floor drop the right things and say so.
 */
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { JobLogsConfig } from '../../src/config/types.ts';
import type { DiskSpace } from '../../src/runner/output/disk-floor.ts';
import { LogManager } from '../../src/runner/output/log-manager.ts';
import { readJobLog, readJobLogLines } from '../../src/runner/output/log-reader.ts';
import { enforceMaxTotal } from '../../src/runner/output/max-total.ts';
import type { LogRecord } from '../../src/runner/output/record.ts';
import { runProcess } from '../../src/runner/spawn-run.ts';
import { Janitor, argv, fixture, makeSpec, sh } from './helpers.ts';

const janitor = new Janitor();
const managers: LogManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await janitor.cleanup();
});

const plentyOfSpace = async (): Promise<DiskSpace> => ({ availableBytes: 50e9, totalBytes: 100e9 });

function manager(opts: Partial<ConstructorParameters<typeof LogManager>[0]> = {}): LogManager {
  const m = new LogManager({
    logsDir: janitor.tempDir('ns-logs-'),
    maxTotalBytes: 0,
    minFreeDisk: { kind: 'percent', percent: 10 },
    statfs: plentyOfSpace,
    ...opts,
  });
  managers.push(m);
  return m;
}

async function records(logsDir: string, job: string, runId?: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of readJobLog(logsDir, job, { runId })) out.push(r);
  return out;
}

describe('capture of a fast, large writer', () => {
  it('never blocks a child writing 50 MB; lines, rotation, gzip and keep are honoured', async () => {
    const logs = manager();
    const cfg: JobLogsConfig = { maxSizeBytes: 4 * 1024 * 1024, keep: 3, compress: true };
    const outLines = 640_000; // × 81 bytes ≈ 52 MB on stdout
    const errLines = 2_000;
    const spec = janitor.track(
      makeSpec(argv(process.execPath, fixture('print-lines.mjs'), String(outLines), String(errLines)), {
        job: 'bulk',
        timeoutMs: 60_000,
      }),
    );
    spec.output = logs.sinkFor('bulk', spec.runId, cfg);
    const result = await runProcess(spec);
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 0 }); // it finished: never blocked on a full pipe
    await logs.close();

    const dir = join(logs.logsDir, 'bulk');
    expect(readdirSync(dir).sort()).toEqual(['bulk.log', 'bulk.log.1.gz', 'bulk.log.2.gz', 'bulk.log.3.gz']);
    expect(statSync(join(dir, 'bulk.log')).size).toBeLessThanOrEqual(cfg.maxSizeBytes + 128 * 1024);

    // What is kept reads back as whole, ordered records, and nothing is lost silently: within the kept window, the
    // bytes of every missing line are exactly the bytes the markers say were dropped (a burst during a gzip
    // rotation can outrun the 8 MiB backlog bound; the child must still never wait).
    const check = auditRecords(await records(logs.logsDir, 'bulk'), spec.runId, { o: outLines, e: errLines });
    expect(check.problems).toEqual([]);
    expect(check.droppedBytes).toBe(check.missingBytes);
    expect(check.kept.o).toBeGreaterThan(0);
    expect(check.kept.e + check.missing.e).toBe(errLines);
  });
});

/** Bytes of one fixture record: "<24-char time> <26-char ULID> <o|e> <80-byte text>\n". */
const RECORD_BYTES = 24 + 1 + 26 + 1 + 1 + 1 + 80 + 1;

/**
 * Walks the records of a print-lines.mjs run (checked without expect() per record: there are 200k of them). The
 * window starts at the first data record kept (older files were rotated away by `keep`); from there every line is
 * either present, in order, or missing and accounted for by a marker.
 */
function auditRecords(recs: LogRecord[], runId: string, total: { o: number; e: number }) {
  const problems: string[] = [];
  const next = { o: -1, e: 0 };
  const kept = { o: 0, e: 0 };
  const missing = { o: 0, e: 0 };
  let droppedBytes = 0;
  for (const r of recs) {
    if (r.runId !== runId) problems.push(`foreign run id ${r.runId}`);
    if (r.stream === 'n') {
      const m = /^\[nightshift\] dropped (\d+) bytes of output: /.exec(r.text);
      if (m === null) problems.push(`bad marker: ${r.text}`);
      else if (next.o !== -1) droppedBytes += Number(m[1]); // a marker before the window accounts for lines before it
      continue;
    }
    if (!/^[oe] \d{9} x+$/.test(r.text) || r.text.length !== 80) {
      problems.push(`bad line: ${r.text.slice(0, 40)}`);
      continue;
    }
    const seq = Number(r.text.slice(2, 11));
    const s = r.stream;
    if (s === 'o' && next.o === -1) next.o = seq; // the window starts here
    if (seq < next[s]) problems.push(`${s} ${seq} out of order`);
    missing[s] += seq - next[s];
    next[s] = seq + 1;
    kept[s] += 1;
  }
  missing.o += total.o - next.o;
  missing.e += total.e - next.e;
  return { problems, kept, missing, droppedBytes, missingBytes: (missing.o + missing.e) * RECORD_BYTES };
}

describe('logs.max_total', () => {
  it('deletes the oldest rotated files across jobs after rotations, never an active file', async () => {
    const maxTotalBytes = 24 * 1024;
    const logsDir = janitor.tempDir('ns-logs-');
    const cfg: JobLogsConfig = { maxSizeBytes: 4 * 1024, keep: 50, compress: false };
    const line = 'x'.repeat(1024 - 55) + '\n'; // with its record prefix, about 1 KiB per line
    for (const job of ['alpha', 'beta']) {
      // One manager per job, closed in turn, so that all of alpha's files are older than any of beta's.
      const logs = manager({ logsDir, maxTotalBytes });
      const sink = logs.sinkFor(job, `RUN-${job}`, cfg);
      for (let i = 0; i < 41; i++) sink.write('out', Buffer.from(line));
      sink.end();
      await logs.close(); // flushes, and waits for the max_total pass the last rotation started
    }

    let total = 0;
    const rotated: Record<string, number[]> = { alpha: [], beta: [] };
    for (const job of ['alpha', 'beta']) {
      const dir = join(logsDir, job);
      expect(existsSync(join(dir, `${job}.log`)), `${job}'s active file`).toBe(true);
      for (const name of readdirSync(dir)) {
        total += statSync(join(dir, name)).size;
        const m = /\.log\.(\d+)$/.exec(name);
        if (m) rotated[job]?.push(Number(m[1]));
      }
    }
    expect(total).toBeLessThanOrEqual(maxTotalBytes);
    // alpha wrote first, so all of its rotated files were older than any of beta's and went first; beta keeps its
    // newest ones (the lowest numbers).
    expect(rotated.alpha).toEqual([]);
    const beta = (rotated.beta ?? []).sort((a, b) => a - b);
    expect(beta.length).toBeGreaterThan(0);
    expect(beta).toEqual(beta.map((_, i) => i + 1));
  });

  it('enforceMaxTotal orders by age across jobs and spares active files', async () => {
    const logsDir = janitor.tempDir('ns-logs-');
    const files: Array<[string, number]> = [
      ['a/a.log', 0],
      ['a/a.log.1.gz', 300],
      ['a/a.log.2.gz', 100],
      ['b/b.log', 0],
      ['b/b.log.1', 200],
      ['b/notes.txt', 50], // not a log file: neither counted nor deleted
    ];
    for (const [rel, ageS] of files) {
      mkdirSync(join(logsDir, rel, '..'), { recursive: true });
      writeFileSync(join(logsDir, rel), Buffer.alloc(1000));
      const t = Date.now() / 1000 - 1000 + ageS; // larger = newer
      utimesSync(join(logsDir, rel), t, t);
    }
    const result = await enforceMaxTotal(logsDir, 3000);
    expect(result.deleted.map((p) => p.slice(logsDir.length + 1))).toEqual(['a/a.log.2.gz', 'b/b.log.1']);
    expect(result.totalBytes).toBe(3000);
    expect(existsSync(join(logsDir, 'a/a.log'))).toBe(true);
    expect(existsSync(join(logsDir, 'a/a.log.1.gz'))).toBe(true);
    expect((await enforceMaxTotal(logsDir, 100)).deleted.map((p) => p.slice(logsDir.length + 1))).toEqual(['a/a.log.1.gz']);
  });
});

describe('free-disk floor', () => {
  it('drops output below the floor and writes one marker saying how much and why', async () => {
    const logs = manager({ statfs: async () => ({ availableBytes: 5e9, totalBytes: 100e9 }) }); // 5% free
    await logs.checkDisk();
    const spec = janitor.track(makeSpec(sh('i=0; while [ $i -lt 1000 ]; do echo "line $i"; i=$((i+1)); done'), { job: 'full' }));
    spec.output = logs.sinkFor('full', spec.runId, { maxSizeBytes: 1024 * 1024, keep: 2, compress: false });
    expect((await runProcess(spec)).exitCode).toBe(0);
    await logs.close();

    const lines = await readJobLogLines(logs.logsDir, 'full');
    expect(lines).toHaveLength(1);
    const match = /^\S+ (\S+) n \[nightshift\] dropped (\d+) bytes of output: free disk below 10% on (\S+) \(5\.0% free\)/.exec(
      lines[0] ?? '',
    );
    expect(match?.[1]).toBe(spec.runId);
    expect(match?.[3]).toBe(logs.logsDir);
    // Every record was dropped: 1000 lines, each "<24-char time> <26-char id> o line N\n".
    const expectedBytes = Array.from({ length: 1000 }, (_, i) => 24 + 1 + 26 + 3 + `line ${i}`.length + 1).reduce((a, b) => a + b);
    expect(Number(match?.[2])).toBe(expectedBytes);
  });

  it('writes the marker when space returns, before the output that follows', async () => {
    let free = 5e9;
    const logs = manager({ statfs: async () => ({ availableBytes: free, totalBytes: 100e9 }) });
    await logs.checkDisk();
    const sink = logs.sinkFor('recover', 'RUN-A', { maxSizeBytes: 1024 * 1024, keep: 2, compress: false });
    sink.write('out', Buffer.from('lost 1\nlost 2\n'));
    free = 50e9;
    await logs.checkDisk();
    sink.write('out', Buffer.from('kept\n'));
    sink.end();
    await logs.close();
    const texts = (await records(logs.logsDir, 'recover')).map((r) => `${r.stream} ${r.text}`);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/^n \[nightshift\] dropped \d+ bytes of output: free disk below 10%/);
    expect(texts[1]).toBe('o kept');
  });
});
