/** LineSink: chunks in, records out. */
import { describe, expect, it } from 'vitest';

import { LineSink, utf8Boundary, type RecordWriter } from '../../src/runner/output/line-sink.ts';
import { parseRecord } from '../../src/runner/output/record.ts';

const T = new Date('2026-01-02T03:04:05.678Z');

class MemoryWriter implements RecordWriter {
  readonly writes: Buffer[] = [];
  readonly ended: string[] = [];
  write(_runId: string, records: Buffer): void {
    this.writes.push(records);
  }
  runEnded(runId: string): void {
    this.ended.push(runId);
  }
  lines(): string[] {
    const all = Buffer.concat(this.writes).toString('utf8');
    return all === '' ? [] : all.slice(0, -1).split('\n');
  }
}

function setup(maxLineBytes?: number) {
  const writer = new MemoryWriter();
  let ends = 0;
  const sink = new LineSink('RUN1', writer, { now: () => T, maxLineBytes, onEnd: () => (ends += 1) });
  return { writer, sink, ends: () => ends };
}

describe('LineSink', () => {
  it('writes one record per line, with time, run id and stream', () => {
    const { writer, sink } = setup();
    sink.write('out', Buffer.from('one\ntwo\n'));
    sink.write('err', Buffer.from('bad\n'));
    expect(writer.lines()).toEqual([
      '2026-01-02T03:04:05.678Z RUN1 o one',
      '2026-01-02T03:04:05.678Z RUN1 o two',
      '2026-01-02T03:04:05.678Z RUN1 e bad',
    ]);
    expect(writer.writes).toHaveLength(2); // all lines of a chunk in one write
  });

  it('keeps a partial line per stream until its newline, and flushes the rest on end()', () => {
    const { writer, sink, ends } = setup();
    sink.write('out', Buffer.from('hel'));
    sink.write('err', Buffer.from('warn'));
    sink.write('out', Buffer.from('lo\nwor'));
    sink.write('err', Buffer.from('ing\n'));
    expect(writer.lines().map((l) => parseRecord(l)?.text)).toEqual(['hello', 'warning']);
    sink.end();
    sink.end(); // idempotent
    expect(writer.lines().map((l) => parseRecord(l)?.text)).toEqual(['hello', 'warning', 'wor']);
    expect(writer.ended).toEqual(['RUN1']);
    expect(ends()).toBe(1);
  });

  it('keeps empty lines and turns CRLF into LF', () => {
    const { writer, sink } = setup();
    sink.write('out', Buffer.from('a\r\n\r\n\nb\n'));
    expect(writer.lines().map((l) => parseRecord(l)?.text)).toEqual(['a', '', '', 'b']);
  });

  it('cuts a line longer than the limit into records of at most that size, so memory stays bounded', () => {
    const { writer, sink } = setup(100);
    for (let i = 0; i < 25; i++) sink.write('out', Buffer.from('x'.repeat(10))); // 250 bytes, no newline yet
    expect(writer.lines().map((l) => parseRecord(l)?.text.length)).toEqual([100, 100]);
    sink.write('out', Buffer.from('y'.repeat(30) + '\n' + 'z'.repeat(250) + '\n'));
    const texts = writer.lines().map((l) => parseRecord(l)?.text ?? '');
    expect(texts.map((t) => t.length)).toEqual([100, 100, 80, 100, 100, 50]);
    expect(texts.join('')).toBe('x'.repeat(250) + 'y'.repeat(30) + 'z'.repeat(250));
  });

  it('does not cut a UTF-8 character in half', () => {
    const { writer, sink } = setup(20);
    sink.write('out', Buffer.from('€'.repeat(10) + '\n')); // 3 bytes each: 30 bytes
    const texts = writer.lines().map((l) => parseRecord(l)?.text);
    expect(texts).toEqual(['€'.repeat(6), '€'.repeat(4)]);
    expect(utf8Boundary(Buffer.from('a€'), 2)).toBe(1);
  });

  it('ignores writes after end()', () => {
    const { writer, sink } = setup();
    sink.end();
    sink.write('out', Buffer.from('late\n'));
    expect(writer.lines()).toEqual([]);
  });
});
