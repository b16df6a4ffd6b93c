/**
 * Read-only /proc helpers beyond what `proc.ts` needs for the kill: a process's command line, whether its
 * environment could be read at all, its working directory, real uid and cgroup, and the boot time. Used by the
 * duplicate scan (src/watch/duplicates.ts), which reads `cmdline` for every process and the rest for a few.
 *
 * Same rules as proc.ts (whose parsers it uses): reads are asynchronous (reading `cmdline` or `environ` takes the target's memory-map lock,
 * which a process stuck in the kernel can hold), a process that vanished or is not ours to read is an answer, not an
 * error, and a read that failed for want of file descriptors is retried.
 *
 * Cheaper than `fs.promises.readFile`, which for a /proc file (size 0) is open, fstat, read, read, close — five trips
 * through the libuv thread pool. Here the read is the only trip: opening `cmdline`, `stat`, `status` or `cgroup` does
 * not touch the target process (their open is the generic one; the memory-map lock is taken in read), so they are
 * opened and closed synchronously. `environ` is the exception — its open takes the target's exec lock (mm_access),
 * held by a process stuck in execve — so it is opened on the pool. Measured in docs/benchmarks.md (duplicate-scan):
 * about half the cost of an all-asynchronous read.
 */
import { close, closeSync, open, openSync, read, readlink } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { parseStat, type ProcStat } from './proc.ts';

/** What a read can say besides the content. */
export type ProcReadFailure = 'gone' | 'denied';

export type ProcRead = { ok: true; data: Buffer } | { ok: false; failure: ProcReadFailure };

const FIRST_READ_BYTES = 4096;
/** `environ` and `cmdline` are bounded by the kernel's ARG_MAX-like limits; past this we stop reading. */
const MAX_READ_BYTES = 4 * 1024 * 1024;
const FD_RETRY_MS = 2_000;
const FD_RETRY_STEP_MS = 10;

/** ENOENT/ESRCH: the process is gone. EACCES/EPERM and anything else: it is there but we cannot read it. */
function failureOf(error: NodeJS.ErrnoException): ProcReadFailure {
  return error.code === 'ENOENT' || error.code === 'ESRCH' ? 'gone' : 'denied';
}

function isFdShortage(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

function openOnce(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
}

function readOnce(fd: number, buffer: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, offset, buffer.length - offset, null, (error, bytes) => (error ? reject(error) : resolve(bytes))),
  );
}

/** `sync`: open in this thread (only for files whose open does not wait on the target process; see above). */
async function openWithFdRetry(path: string, sync: boolean): Promise<number> {
  for (let waited = 0; ; waited += FD_RETRY_STEP_MS) {
    try {
      return sync ? openSync(path, 'r') : await openOnce(path);
    } catch (error) {
      if (!isFdShortage(error) || waited >= FD_RETRY_MS) throw error;
      await sleep(FD_RETRY_STEP_MS);
    }
  }
}

/**
 * The whole content of a /proc file (up to 4 MiB), or why not. `openSync`: open and close in this thread, for files
 * whose open does not involve the target (cmdline, stat, status, cgroup — not environ).
 */
export async function readProcFile(path: string, opts: { openSync?: boolean; scratch?: Buffer } = {}): Promise<ProcRead> {
  const sync = opts.openSync ?? false;
  let fd: number;
  try {
    fd = await openWithFdRetry(path, sync);
  } catch (error) {
    return { ok: false, failure: failureOf(error as NodeJS.ErrnoException) };
  }
  try {
    // With `scratch`, the answer may be a view of it: the caller reads it before lending the scratch out again.
    let buffer = opts.scratch ?? Buffer.allocUnsafe(FIRST_READ_BYTES);
    let length = 0;
    for (;;) {
      const bytes = await readOnce(fd, buffer, length);
      length += bytes;
      if (bytes === 0 || length < buffer.length) break; // a short read of a /proc file is its end
      if (buffer.length >= MAX_READ_BYTES) break;
      const bigger = Buffer.allocUnsafe(buffer.length * 4);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    return { ok: true, data: buffer.subarray(0, length) };
  } catch (error) {
    // environ of another user's process opens but fails on read (EACCES/EPERM from the ptrace check).
    return { ok: false, failure: failureOf(error as NodeJS.ErrnoException) };
  } finally {
    if (sync) closeSync(fd);
    else close(fd, () => {});
  }
}

/**
 * The argv of a process from `/proc/PID/cmdline` (NUL-separated, with a trailing NUL). Empty for kernel threads and
 * zombies, which have no user memory; null when the process is gone or unreadable.
 */
export async function readCmdline(procRoot: string, pid: number): Promise<string[] | null> {
  // Every process is read once per scan: reusing buffers spares the garbage collector a 4 KiB buffer per process.
  const scratch = spareBuffers.pop() ?? Buffer.allocUnsafe(FIRST_READ_BYTES);
  try {
    const result = await readProcFile(join(procRoot, String(pid), 'cmdline'), { openSync: true, scratch });
    return result.ok ? splitCmdline(result.data) : null;
  } finally {
    if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(scratch);
  }
}

const spareBuffers: Buffer[] = [];
/** As many as reads a scan has in flight; more would only hold memory. */
const MAX_SPARE_BUFFERS = 64;

export function splitCmdline(data: Buffer): string[] {
  if (data.length === 0) return [];
  const text = data.toString('utf8');
  const args = text.split('\0');
  if (args[args.length - 1] === '') args.pop();
  return args;
}

/** `/proc/PID/environ`: the raw NUL-separated block, or why it could not be read (another user's process: denied). */
export function readEnviron(procRoot: string, pid: number): Promise<ProcRead> {
  return readProcFile(join(procRoot, String(pid), 'environ'));
}

/** Where the process runs (`/proc/PID/cwd`); null when gone or unreadable. The kernel gives the real path. */
export function readCwd(procRoot: string, pid: number): Promise<string | null> {
  return new Promise((resolve) =>
    readlink(join(procRoot, String(pid), 'cwd'), (error, target) => {
      if (error) return resolve(null);
      // A deleted working directory reads as "/path (deleted)": it cannot equal a job's cwd, and that is right.
      resolve(target);
    }),
  );
}

export interface ProcStatWithFlags extends ProcStat {
  /** PF_KTHREAD in the flags field (9): a kernel thread, whatever its parent (pid 2 is not kthreadd in a container). */
  kernelThread: boolean;
}

const PF_KTHREAD = 0x00200000;

/** `/proc/PID/stat` parsed (proc.ts `parseStat`, plus the kernel-thread flag); null when gone, unreadable or malformed. */
export async function readStat(procRoot: string, pid: number): Promise<ProcStatWithFlags | null> {
  const result = await readProcFile(join(procRoot, String(pid), 'stat'), { openSync: true });
  if (!result.ok) return null;
  const text = result.data.toString('utf8');
  const stat = parseStat(text);
  if (stat === null) return null;
  // After ") ": state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9) → index 6.
  const flags = Number(text.slice(text.lastIndexOf(')') + 1).trim().split(/\s+/)[6]);
  return { ...stat, kernelThread: Number.isInteger(flags) && (flags & PF_KTHREAD) !== 0 };
}

/** The real uid, from the `Uid:` line of `/proc/PID/status`; null when gone or unreadable. */
export async function readUid(procRoot: string, pid: number): Promise<number | null> {
  const result = await readProcFile(join(procRoot, String(pid), 'status'), { openSync: true });
  if (!result.ok) return null;
  const match = /^Uid:\s+(\d+)/m.exec(result.data.toString('utf8'));
  return match ? Number(match[1]) : null;
}

/** The cgroup v2 path of the process (the `0::` line of `/proc/PID/cgroup`); null when gone, unreadable or v1 only. */
export async function readCgroupPath(procRoot: string, pid: number): Promise<string | null> {
  const result = await readProcFile(join(procRoot, String(pid), 'cgroup'), { openSync: true });
  if (!result.ok) return null;
  const match = /^0::(.*)$/m.exec(result.data.toString('utf8'));
  return match?.[1] ?? null;
}

/** Boot time in seconds since the epoch (`btime` of `/proc/stat`); null when missing. */
export async function readBootTimeSeconds(procRoot: string): Promise<number | null> {
  const result = await readProcFile(join(procRoot, 'stat'), { openSync: true });
  if (!result.ok) return null;
  const match = /^btime\s+(\d+)/m.exec(result.data.toString('utf8'));
  return match ? Number(match[1]) : null;
}

/**
 * Maps `items` with at most `concurrency` calls in flight (a sliding window, not batches: one slow read does not
 * hold up the next 31). Results keep the input order; null results are dropped.
 */
export async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R | null>): Promise<R[]> {
  const results: (R | null)[] = new Array<R | null>(items.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results.filter((r): r is R => r !== null);
}
