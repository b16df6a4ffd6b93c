/** The /proc reader against fixture trees written to a temp dir, and once against the real /proc. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ProcReader, environHasEntry, parseStat } from '../../src/runner/proc.ts';

/** A stat line as the kernel writes it; fields past 22 trimmed to what we need plus a few. */
function statLine(p: { pid: number; comm: string; state?: string; ppid?: number; pgid?: number; sid?: number; start?: number }): string {
  const rest = [p.state ?? 'S', p.ppid ?? 1, p.pgid ?? p.pid, p.sid ?? p.pid, 0, -1, 4194560];
  const upToStart = [...rest, ...Array(12).fill(0), p.start ?? 1000]; // fields 3..22
  return `${p.pid} (${p.comm}) ${upToStart.join(' ')} 0 0 18446744073709551615\n`;
}

describe('parseStat', () => {
  it('parses from the last ")" so a comm with spaces and ") (" cannot shift the fields', () => {
    const parsed = parseStat(statLine({ pid: 42, comm: 'evil) (S 1 2 3', state: 'R', ppid: 7, pgid: 40, sid: 39, start: 123456 }));
    expect(parsed).toEqual({ pid: 42, comm: 'evil) (S 1 2 3', state: 'R', ppid: 7, pgid: 40, session: 39, startTime: 123456 });
  });

  it('rejects what is not a stat line', () => {
    expect(parseStat('')).toBeNull();
    expect(parseStat('42 (cut off')).toBeNull();
    expect(parseStat('42 (x) S 1 2')).toBeNull(); // too few fields
  });

  it('reads the real /proc/self consistently with process.*', async () => {
    const stat = await new ProcReader().readStat(process.pid);
    expect(stat).toMatchObject({ pid: process.pid, ppid: process.ppid, state: expect.stringMatching(/^[RS]$/) });
    expect(stat?.startTime).toBeGreaterThan(0);
  });
});

describe('environHasEntry', () => {
  const env = (...entries: string[]): Buffer => Buffer.from(entries.join('\0') + '\0');

  it('matches the exact entry at the start, middle or end', () => {
    expect(environHasEntry(env('NIGHTSHIFT_RUN_ID=abc', 'PATH=/bin'), 'NIGHTSHIFT_RUN_ID=abc')).toBe(true);
    expect(environHasEntry(env('A=1', 'NIGHTSHIFT_RUN_ID=abc', 'B=2'), 'NIGHTSHIFT_RUN_ID=abc')).toBe(true);
    expect(environHasEntry(Buffer.from('A=1\0NIGHTSHIFT_RUN_ID=abc'), 'NIGHTSHIFT_RUN_ID=abc')).toBe(true);
  });

  it('does not match a longer value, a longer name, or the text inside another value', () => {
    expect(environHasEntry(env('NIGHTSHIFT_RUN_ID=abcd'), 'NIGHTSHIFT_RUN_ID=abc')).toBe(false);
    expect(environHasEntry(env('XNIGHTSHIFT_RUN_ID=abc'), 'NIGHTSHIFT_RUN_ID=abc')).toBe(false);
    expect(environHasEntry(env('NOTE=NIGHTSHIFT_RUN_ID=abc'), 'NIGHTSHIFT_RUN_ID=abc')).toBe(false);
    expect(environHasEntry(Buffer.alloc(0), 'NIGHTSHIFT_RUN_ID=abc')).toBe(false);
  });
});

describe('ProcReader on a fixture tree', () => {
  let root: string;
  let reader: ProcReader;

  function addProc(p: Parameters<typeof statLine>[0], environ: string[] | null): void {
    const dir = join(root, String(p.pid));
    mkdirSync(dir);
    writeFileSync(join(dir, 'stat'), statLine(p));
    if (environ !== null) writeFileSync(join(dir, 'environ'), environ.join('\0') + '\0');
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-proc-'));
    reader = new ProcReader(root);
    mkdirSync(join(root, 'self'));
    mkdirSync(join(root, 'sys'));
    writeFileSync(join(root, 'uptime'), '1.0 1.0\n');
    addProc({ pid: 1, comm: 'init', start: 1 }, ['PATH=/bin']);
    addProc({ pid: 100, comm: 'main job', pgid: 100, start: 5000 }, ['NIGHTSHIFT_RUN_ID=R1', 'PATH=/bin']);
    addProc({ pid: 101, comm: 'chrome) (renderer', ppid: 1, pgid: 101, sid: 101, start: 5010 }, ['PATH=/bin', 'NIGHTSHIFT_RUN_ID=R1']);
    addProc({ pid: 102, comm: 'zombie', state: 'Z', pgid: 100, start: 5020 }, ['NIGHTSHIFT_RUN_ID=R1']);
    addProc({ pid: 103, comm: 'no-env', pgid: 100, start: 5030 }, null); // environ unreadable: still in the group
    addProc({ pid: 104, comm: 'other run', start: 5040 }, ['NIGHTSHIFT_RUN_ID=R10']);
    addProc({ pid: 105, comm: 'old', start: 10 }, ['NIGHTSHIFT_RUN_ID=R1']); // older than the run: not ours
    mkdirSync(join(root, '106')); // vanished between readdir and read: no files
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lists numeric entries only', async () => {
    expect((await reader.listPids()).sort((a, b) => a - b)).toEqual([1, 100, 101, 102, 103, 104, 105, 106]);
  });

  it('finds marked, live processes; skips zombies, unreadable and vanished ones', async () => {
    expect((await reader.findMarkedPids('R1')).sort((a, b) => a - b)).toEqual([100, 101, 105]);
    expect((await reader.findMarkedPids('R1', { notBeforeStartTime: 5000 })).sort((a, b) => a - b)).toEqual([100, 101]);
    expect(await reader.findMarkedPids('R10')).toEqual([104]);
  });

  it('adds live members of the process group, marked or not', async () => {
    const found = await reader.findRunProcesses('R1', { pgid: 100, notBeforeStartTime: 5000 });
    expect(found.map((p) => [p.pid, p.marked]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [100, true],
      [101, true],
      [103, false],
    ]);
  });

  it('is PID-reuse safe and counts zombies as dead', async () => {
    expect(await reader.pidStartTime(101)).toBe(5010);
    expect(reader.pidStartTimeSync(101)).toBe(5010);
    expect(await reader.pidStartTime(999)).toBeNull();
    expect(await reader.isSameProcessAlive(101, 5010)).toBe(true);
    expect(await reader.isSameProcessAlive(101, 4999)).toBe(false); // same pid, another process
    expect(await reader.isSameProcessAlive(102, 5020)).toBe(false); // zombie
    expect(await reader.isSameProcessAlive(106, 0)).toBe(false); // vanished
  });

  it('returns nothing when the root does not exist', async () => {
    expect(await new ProcReader(join(root, 'missing')).findMarkedPids('R1')).toEqual([]);
  });
});
