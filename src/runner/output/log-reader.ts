/**
 * Reading job logs back, for `nightshift logs JOB [--run ID] [-f]`.
 *
 * `readJobLog` goes through a job's files oldest first (rotated `.N.gz` files through zlib, then the active file),
 * yielding parsed records, optionally of one run. `followJobLog` tails the active file like `tail -F`: it polls (a
 * modest 250 ms; fs.watch misses renames on some filesystems and in containers), finishes the old file when a
 * rotation renames it, starts over on truncation, and ends when its signal aborts. Like `tail -F`, it cannot show a
 * file that was created and rotated away entirely between two polls (only with tiny max_size or huge bursts);
 * `readJobLog` still has those records.
 *
 * Both stream: a job may keep a gigabyte of logs, and the CLI prints as it reads.
 */
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';

import { activeLogPath, listJobLogFiles } from './log-files.ts';
import { parseRecord, type LogRecord } from './record.ts';

export interface ReadJobLogOptions {
  /** Only records of this run. */
  runId?: string;
  /** Only the rotated files, not the active one (`logs -f` reads the active file through the follower instead). */
  rotatedOnly?: boolean;
}

export interface FollowJobLogOptions extends ReadJobLogOptions {
  /** Ends the iteration (the CLI aborts on Ctrl-C, or when the followed run has ended). */
  signal: AbortSignal;
  /** 'end' (default) shows only what is written from now on; 'start' first replays the active file. */
  from?: 'start' | 'end';
  pollMs?: number;
  /** Called once, when the follower first reaches the end of what the active file held (or finds no file). */
  onCaughtUp?: () => void;
}

/** A record as it is stored, without the newline. */
export function formatRecordLine(record: LogRecord): string {
  return `${record.time} ${record.runId} ${record.stream} ${record.text}`;
}

/**
 * Records of a job, oldest first. A file rotated away while it is read, or a `.gz` cut short (a crash during
 * compression), ends that file early; the rest is still read.
 */
export async function* readJobLog(logsDir: string, job: string, opts: ReadJobLogOptions = {}): AsyncGenerator<LogRecord> {
  const active = activeLogPath(logsDir, job);
  for (const file of await listJobLogFiles(logsDir, job)) {
    if (opts.rotatedOnly && file.path === active) continue;
    const source = createReadStream(file.path);
    const input: Readable = file.compressed ? source.pipe(createGunzip()) : source;
    // Errors end this file's lines; the pipe does not forward the source's errors, so each is caught here.
    source.on('error', () => input.destroy());
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        const record = parseRecord(line);
        if (record !== null && (opts.runId === undefined || record.runId === opts.runId)) yield record;
      }
    } catch {
      // truncated gzip, file gone: keep what was read, go on with the next file
    } finally {
      lines.close();
      source.destroy();
      input.destroy();
    }
  }
}

/** Convenience for small logs and tests: every stored line (optionally of one run), oldest first. */
export async function readJobLogLines(logsDir: string, job: string, opts: ReadJobLogOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const record of readJobLog(logsDir, job, opts)) out.push(formatRecordLine(record));
  return out;
}

const DEFAULT_POLL_MS = 250;
const READ_CHUNK_BYTES = 64 * 1024;
const MAX_CARRY_BYTES = 1024 * 1024;

/** Tails the job's active file until `signal` aborts. */
export async function* followJobLog(logsDir: string, job: string, opts: FollowJobLogOptions): AsyncGenerator<LogRecord> {
  const path = activeLogPath(logsDir, job);
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  let tail: Tail | null = null;
  let firstOpen = true;
  let caughtUp = opts.onCaughtUp;
  const reachedEnd = () => {
    caughtUp?.();
    caughtUp = undefined;
  };
  try {
    while (!opts.signal.aborted) {
      if (tail === null) {
        // At the very start, 'end' skips what is there; any file that appears later is new, read from its start.
        tail = await Tail.open(path, firstOpen && opts.from !== 'start' ? 'end' : 'start');
        if (tail !== null) firstOpen = false;
      }
      if (tail !== null) {
        for await (const lines of tail.readToEnd()) yield* filtered(lines, opts.runId);
        const now = await statOrNull(path);
        // Rotated: the name is gone (compressed away, new file not there yet) or names another file. Our open
        // descriptor keeps the old inode alive, so a new file cannot reuse its number.
        if (now === null || now.ino !== tail.ino) {
          // Rotated: the old file may have got its last records after our read; take them, then switch files.
          for await (const lines of tail.readToEnd()) yield* filtered(lines, opts.runId);
          await tail.close();
          tail = null;
          continue;
        }
        if (now.size < tail.position) tail.restart(); // truncated (copytruncate, or someone emptied it)
        reachedEnd();
      } else {
        firstOpen = false; // no file yet: whatever appears is new
        reachedEnd();
      }
      try {
        await sleep(pollMs, undefined, { signal: opts.signal });
      } catch {
        break;
      }
    }
  } finally {
    await tail?.close();
  }
}

function* filtered(lines: string[], runId: string | undefined): Generator<LogRecord> {
  for (const line of lines) {
    const record = parseRecord(line);
    if (record !== null && (runId === undefined || record.runId === runId)) yield record;
  }
}

async function statOrNull(path: string): Promise<{ ino: number; size: number } | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/** An open file read from a position, handing back complete lines and keeping a partial last one. */
class Tail {
  readonly ino: number;
  position: number;
  private readonly fh: FileHandle;
  private carry: Buffer = Buffer.alloc(0);

  private constructor(fh: FileHandle, ino: number, position: number) {
    this.fh = fh;
    this.ino = ino;
    this.position = position;
  }

  static async open(path: string, from: 'start' | 'end'): Promise<Tail | null> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch {
      return null;
    }
    const st = await fh.stat();
    return new Tail(fh, st.ino, from === 'end' ? st.size : 0);
  }

  restart(): void {
    this.position = 0;
    this.carry = Buffer.alloc(0);
  }

  /** The complete lines from the position to the end of the file, one batch per read. */
  async *readToEnd(): AsyncGenerator<string[]> {
    const buf = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      const lines: string[] = [];
      let data = Buffer.concat([this.carry, buf.subarray(0, bytesRead)]);
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a)) {
        lines.push(data.subarray(0, nl).toString('utf8'));
        data = data.subarray(nl + 1);
      }
      // Records are at most 64 KiB plus a prefix; a longer unterminated run is not a record, so do not hoard it.
      this.carry = data.length > MAX_CARRY_BYTES ? Buffer.alloc(0) : Buffer.from(data);
      yield lines;
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
