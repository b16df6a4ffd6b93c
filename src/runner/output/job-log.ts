/**
 * One job's log file, rotated by size with rotating-file-stream (DESIGN.md: "do not write by hand what one of these
 * already does"): `<job>.log`, then `<job>.log.1[.gz]` … `<job>.log.<keep>[.gz]` (log-files.ts).
 *
 * Writing never blocks the child. The stream buffers while a rotation (and its gzip) runs; if the disk cannot keep
 * up and more than `maxBacklogBytes` wait, new records are dropped instead of growing the daemon's memory — the same
 * happens while the gate (the free-disk floor) is closed or after a write error. Drops are counted per run and
 * reason, and written as one marker record (`n` stream) once records are accepted again or the run ends, so a gap in
 * a log always says how big it is and why.
 *
 * Records that arrive within one turn of the event loop are joined into one write: rotating-file-stream issues one
 * file write per chunk, one at a time, and a fast child hands us several chunks per turn. Joined, the writer keeps
 * up with well over 100 MB/s between rotations; a burst during a gzip rotation is what the backlog bound is for.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';

import { formatBytes, type DropReason } from './drop.ts';
import type { RecordWriter } from './line-sink.ts';
import { formatRecord } from './record.ts';

export interface JobLogOptions {
  /** The active file, `<logsDir>/<job>/<job>.log`. */
  path: string;
  maxSizeBytes: number;
  /** Rotated files kept; 0 keeps none. */
  keep: number;
  compress: boolean;
  /** Past this many bytes waiting in the stream, records are dropped; default 8 MiB. */
  maxBacklogBytes?: number;
  /** Asked on every write (must be cheap): a reason to drop output right now, or null. */
  gate?: () => DropReason | null;
  /** After each rotation: the caller re-checks the total size of all logs. */
  onRotated?: () => void;
  /** After a write error, how long until the file is opened again; default 5 s. */
  reopenDelayMs?: number;
  now?: () => Date;
}

export const DEFAULT_MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
const DEFAULT_REOPEN_DELAY_MS = 5000;
const MAX_BATCH_BYTES = 1024 * 1024;
const FILE_MODE = 0o640; // output can hold secrets a job printed: not world-readable
const DIR_MODE = 0o750;

export class JobLog implements RecordWriter {
  readonly path: string;
  private readonly opts: JobLogOptions;
  private readonly maxBacklogBytes: number;
  private readonly now: () => Date;
  private stream: RotatingFileStream | null = null;
  /** Records accepted in this turn of the event loop, written together by flushBatch(). */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** runId → reason key → { bytes, text } */
  private readonly drops = new Map<string, Map<string, { bytes: number; text: string }>>();
  private failure: { atMs: number; text: string } | null = null;
  private rotatingNow = false;
  private closed = false;

  constructor(opts: JobLogOptions) {
    this.opts = opts;
    this.path = opts.path;
    this.maxBacklogBytes = opts.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.now = opts.now ?? (() => new Date());
    this.open();
  }

  /** True between the start and the end of a rotation: max_total must not delete files being renamed. */
  get rotating(): boolean {
    return this.rotatingNow;
  }

  /** Bytes accepted but not yet handed to the file (queued in the batch or in the stream's buffer). */
  get backlogBytes(): number {
    return (this.currentStream()?.writableLength ?? 0) + this.batchBytes;
  }

  /** Same settings as these? (A changed `logs:` block gets a new writer.) */
  sameSettings(o: { maxSizeBytes: number; keep: number; compress: boolean }): boolean {
    return o.maxSizeBytes === this.opts.maxSizeBytes && o.keep === this.opts.keep && o.compress === this.opts.compress;
  }

  write(runId: string, records: Buffer): void {
    if (this.closed) return;
    const blocked = this.blockReason();
    if (blocked !== null) {
      this.countDrop(runId, blocked, records.length);
      return;
    }
    this.writeMarkers(runId);
    this.enqueue(records);
  }

  runEnded(runId: string): void {
    this.writeMarkers(runId); // even below the disk floor: one short line says where the output went
  }

  /** Writes pending markers of every run, once output is accepted again (e.g. disk space came back). */
  flushMarkers(): void {
    if (this.blockReason() !== null) return;
    for (const runId of [...this.drops.keys()]) this.writeMarkers(runId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const runId of [...this.drops.keys()]) this.writeMarkers(runId);
    this.closed = true;
    const stream = this.stream;
    this.stream = null;
    if (stream === null || stream.destroyed) return;
    this.flushBatch(stream);
    const done = once(stream, 'close').catch(() => undefined);
    stream.end();
    await done;
  }

  private blockReason(): DropReason | null {
    if (this.closed) return { key: 'closed', text: 'the log writer was already closed' };
    const gated = this.opts.gate?.() ?? null;
    if (gated !== null) return gated;
    const stream = this.currentStream();
    if (stream === null) {
      return { key: 'error', text: `the log file could not be written (${this.failure?.text ?? 'unknown error'})` };
    }
    if (stream.writableLength + this.batchBytes > this.maxBacklogBytes) {
      const limit = formatBytes(this.maxBacklogBytes);
      const text = `the log writer fell more than ${limit} behind (output arrived faster than it could be written and rotated)`;
      return { key: 'backlog', text };
    }
    return null;
  }

  private countDrop(runId: string, reason: DropReason, bytes: number): void {
    let byReason = this.drops.get(runId);
    if (byReason === undefined) this.drops.set(runId, (byReason = new Map()));
    const entry = byReason.get(reason.key);
    if (entry === undefined) byReason.set(reason.key, { bytes, text: reason.text });
    else entry.bytes += bytes;
  }

  private writeMarkers(runId: string): void {
    const byReason = this.drops.get(runId);
    const stream = this.currentStream();
    if (byReason === undefined || stream === null) return;
    this.drops.delete(runId);
    for (const { bytes, text } of byReason.values()) {
      const note = `[nightshift] dropped ${bytes} bytes of output: ${text}`;
      this.enqueue(Buffer.from(formatRecord(this.now(), runId, 'n', note)));
    }
  }

  private enqueue(records: Buffer): void {
    this.batch.push(records);
    this.batchBytes += records.length;
    // Rotation is checked after each write, so a batch is also capped: files stay close to max_size.
    if (this.batchBytes >= Math.min(MAX_BATCH_BYTES, this.opts.maxSizeBytes)) this.flushBatch(this.stream);
    else if (this.batch.length === 1) setImmediate(() => this.flushBatch(this.stream));
  }

  private flushBatch(stream: RotatingFileStream | null): void {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    if (batch.length === 0 || stream === null || stream.destroyed) return; // a failed stream: lost with it
    stream.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
  }

  /** The open stream; after a failure, a new one once the reopen delay has passed. */
  private currentStream(): RotatingFileStream | null {
    if (this.stream === null && !this.closed && this.failure !== null) {
      if (Date.now() - this.failure.atMs >= (this.opts.reopenDelayMs ?? DEFAULT_REOPEN_DELAY_MS)) this.open();
    }
    return this.stream;
  }

  private open(): void {
    const { path, maxSizeBytes, keep, compress } = this.opts;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
      const stream = createStream(path, {
        size: `${Math.max(1, Math.floor(maxSizeBytes))}B`,
        // rotating-file-stream needs rotate ≥ 1; keep: 0 deletes the single rotated file right after rotation.
        rotate: Math.max(1, keep),
        ...(compress ? { compress: 'gzip' as const } : {}),
        mode: FILE_MODE,
      });
      stream.on('rotation', () => (this.rotatingNow = true));
      stream.on('rotated', () => {
        this.rotatingNow = false;
        if (keep === 0) removeQuietly(`${path}.1`, `${path}.1.gz`);
        this.opts.onRotated?.();
      });
      stream.on('warning', () => {}); // non-fatal (e.g. a rotated file vanished); nothing to do
      stream.on('error', (err: Error) => {
        // Fatal for this stream (rotating-file-stream closes it): drop until the reopen delay has passed.
        this.rotatingNow = false;
        if (this.stream === stream) this.stream = null;
        this.failure = { atMs: Date.now(), text: errorText(err) };
      });
      this.stream = stream;
      this.failure = null;
    } catch (err) {
      this.stream = null;
      this.failure = { atMs: Date.now(), text: errorText(err) };
    }
  }
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e?.message || String(err));
}

function removeQuietly(...paths: string[]): void {
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch {
      // not there
    }
  }
}
