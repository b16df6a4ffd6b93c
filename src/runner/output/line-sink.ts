/**
 * The OutputSink of one run: cuts the child's stdout and stderr into lines and hands them, as records
 * (record.ts), to the job's log writer.
 *
 * Pipes deliver arbitrary chunks, so the tail of a chunk without a newline waits for the next one (per stream). A line
 * that never ends — a progress bar drawn with `\r`, a minified blob — would grow without bound, so past
 * `maxLineBytes` it is cut into records of that size (on a UTF-8 character boundary) and continued.
 *
 * All complete lines of one chunk become ONE write of one buffer: 50 MB of short lines is a few thousand writes, not
 * half a million. Lines read together share one timestamp.
 */
import type { OutputSink } from '../types.ts';
import { formatRecord, recordPrefix } from './record.ts';

/** Where records go. Both methods must never block or throw; a writer drops what it cannot keep. */
export interface RecordWriter {
  /** Appends whole records (one or more complete lines) of a run. */
  write(runId: string, records: Buffer): void;
  /** The run's output is complete: write any pending note (e.g. a dropped-output marker) for it. */
  runEnded(runId: string): void;
}

export interface LineSinkOptions {
  /** A longer line is cut into records of this many bytes; default 64 KiB. */
  maxLineBytes?: number;
  now?: () => Date;
  /** Called once, after the last record was handed on. */
  onEnd?: () => void;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = Buffer.from('\n');

/** The unfinished tail of one stream. */
class PartialLine {
  parts: Buffer[] = [];
  bytes = 0;

  push(buf: Buffer): void {
    this.parts.push(buf);
    this.bytes += buf.length;
  }

  take(): Buffer {
    const all = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    this.parts = [];
    this.bytes = 0;
    return all;
  }
}

export class LineSink implements OutputSink {
  private readonly runId: string;
  private readonly writer: RecordWriter;
  private readonly maxLineBytes: number;
  private readonly now: () => Date;
  private readonly onEnd: (() => void) | undefined;
  private readonly partial = { out: new PartialLine(), err: new PartialLine() };
  private ended = false;

  note(text: string): void {
    if (!this.ended) this.writer.write(this.runId, Buffer.from(formatRecord(this.now(), this.runId, 'n', `[nightshift] ${text}`)));
  }

  constructor(runId: string, writer: RecordWriter, opts: LineSinkOptions = {}) {
    this.runId = runId;
    this.writer = writer;
    this.maxLineBytes = Math.max(16, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.now = opts.now ?? (() => new Date());
    this.onEnd = opts.onEnd;
  }

  write(stream: 'out' | 'err', chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    try {
      const prefix = Buffer.from(recordPrefix(this.now(), this.runId, stream === 'out' ? 'o' : 'e'));
      const parts: Buffer[] = [];
      const pending = this.partial[stream];
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl);
        this.addLine(parts, prefix, pending.bytes > 0 ? Buffer.concat([pending.take(), piece]) : piece);
        start = nl + 1;
      }
      if (start < chunk.length) {
        // Copied, so a few bytes of tail do not pin the whole 64 KiB read buffer.
        pending.push(Buffer.from(chunk.subarray(start)));
        if (pending.bytes > this.maxLineBytes) pending.push(this.cutLong(parts, prefix, pending.take()));
      }
      if (parts.length > 0) this.writer.write(this.runId, Buffer.concat(parts));
    } catch {
      // A sink never throws into the runner; losing a chunk beats losing the run.
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      for (const stream of ['out', 'err'] as const) {
        const pending = this.partial[stream];
        if (pending.bytes === 0) continue;
        const parts: Buffer[] = [];
        const prefix = Buffer.from(recordPrefix(this.now(), this.runId, stream === 'out' ? 'o' : 'e'));
        this.addLine(parts, prefix, pending.take());
        this.writer.write(this.runId, Buffer.concat(parts));
      }
      this.writer.runEnded(this.runId);
    } catch {
      // as in write()
    }
    this.onEnd?.();
  }

  private addLine(parts: Buffer[], prefix: Buffer, line: Buffer): void {
    const text = line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line; // CRLF → LF
    const rest = text.length > this.maxLineBytes ? this.cutLong(parts, prefix, text) : text;
    parts.push(prefix, rest, NEWLINE);
  }

  /** Emits full-size records from the front of `buf` while more than one record's worth is left; returns the rest. */
  private cutLong(parts: Buffer[], prefix: Buffer, buf: Buffer): Buffer {
    let rest = buf;
    while (rest.length > this.maxLineBytes) {
      const cut = utf8Boundary(rest, this.maxLineBytes);
      parts.push(prefix, rest.subarray(0, cut), NEWLINE);
      rest = rest.subarray(cut);
    }
    return rest;
  }
}

/** The largest cut point ≤ `at` that does not split a UTF-8 character (falls back to `at` for non-UTF-8 bytes). */
export function utf8Boundary(buf: Buffer, at: number): number {
  for (let i = at; i > at - 4 && i > 0; i--) {
    const byte = buf[i];
    if (byte === undefined || (byte & 0xc0) !== 0x80) return i; // not a continuation byte: a character starts here
  }
  return at;
}
