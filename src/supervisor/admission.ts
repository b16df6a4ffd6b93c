/**
 * Admission control on available memory (`limits.min_available_memory`): before a run starts, is there room for it?
 *
 * Seed 001: no swap, 1 CPU, and every deploy or burst of jobs ended in the OOM killer taking whatever it chose — often
 * not the job that needed the memory. A run that would start into that waits instead (the dispatcher records why and
 * looks again, every ADMISSION_RECHECK), which costs a delay and never a half-written result.
 *
 * "Available" is the kernel's own estimate, `MemAvailable` in /proc/meminfo: free memory plus the page cache and
 * reclaimable slab that could be given up without swapping — what `free` shows as "available". `MemFree` alone would
 * count the page cache as used and hold runs back on every healthy box.
 *
 * Cheap (one small file, read only when a floor is set) and never throwing: a check that cannot read meminfo admits the
 * run — refusing every run because /proc is odd would be a worse outage than the one this prevents — and logs that
 * once (again only after a successful read in between).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { formatSizeApprox } from '../config/units.ts';

export type AdmissionResult =
  /** `availableBytes`: null when no floor is set (nothing was read) or meminfo could not be read. */
  | { ok: true; availableBytes: number | null; minBytes: number }
  | { ok: false; availableBytes: number; minBytes: number };

/** Where the one warning goes (the daemon's pino logger fits). */
export interface AdmissionLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface AdmissionOptions {
  /** The /proc directory (as elsewhere in nightshift, e.g. `detectRunCgroups`); tests point it at a fixture tree. */
  procRoot?: string;
  /** The floor, read at every check so a config reload applies at once; 0 = no admission control. */
  minAvailableBytes: () => number;
  logger?: AdmissionLogger;
}

export class Admission {
  private readonly meminfoPath: string;
  private readonly minAvailableBytes: () => number;
  private readonly logger: AdmissionLogger | undefined;
  /** Whether the current run of unreadable meminfo has been logged: once per run of failures, not once per check. */
  private toldUnreadable = false;

  constructor(options: AdmissionOptions) {
    this.meminfoPath = join(options.procRoot ?? '/proc', 'meminfo');
    this.minAvailableBytes = options.minAvailableBytes;
    this.logger = options.logger;
  }

  /** Whether a run may start now. Never throws. */
  async check(): Promise<AdmissionResult> {
    const minBytes = this.minAvailableBytes();
    if (!(minBytes > 0)) return { ok: true, availableBytes: null, minBytes: 0 };
    const availableBytes = await this.availableBytes();
    if (availableBytes === null || availableBytes >= minBytes) return { ok: true, availableBytes, minBytes };
    return { ok: false, availableBytes, minBytes };
  }

  /** MemAvailable in bytes; null (logged once) when it cannot be read. */
  async availableBytes(): Promise<number | null> {
    let content: string;
    try {
      content = await readFile(this.meminfoPath, 'utf8');
    } catch (err) {
      return this.unreadable(`cannot read ${this.meminfoPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const available = parseMemAvailable(content);
    if (available === null) {
      return this.unreadable(`${this.meminfoPath} has no MemAvailable line (Linux before 3.14?)`);
    }
    this.toldUnreadable = false;
    return available;
  }

  private unreadable(why: string): null {
    if (!this.toldUnreadable) {
      this.toldUnreadable = true;
      const msg = `${why}: limits.min_available_memory cannot be checked; runs start regardless`;
      this.logger?.warn({ reason: why }, msg);
    }
    return null;
  }
}

/** `MemAvailable:   123456 kB` → bytes; null when the line is missing or malformed. */
export function parseMemAvailable(meminfo: string): number | null {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : null;
}

/** What a waiting run records: `150M available, below limits.min_available_memory (200M)`. */
export function describeRefusal(result: { availableBytes: number; minBytes: number }): string {
  const floor = formatSizeApprox(result.minBytes);
  return `${formatSizeApprox(result.availableBytes)} available, below limits.min_available_memory (${floor})`;
}
