/** Parsers for the /proc and /sys files doctor reads: pure, so fixture text and live text go the same way. */
import type { LoadAverage, MemInfo } from '../types.ts';

/** /proc/meminfo (values in kB) → bytes; null without MemTotal. MemAvailable is estimated on kernels before 3.14. */
export function parseMeminfo(text: string): MemInfo | null {
  const kb = (key: string): number | null => {
    const match = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  if (total === null) return null;
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Cached') ?? 0) + (kb('Buffers') ?? 0);
  return { memTotalBytes: total, memAvailableBytes: available, swapTotalBytes: kb('SwapTotal') ?? 0, swapFreeBytes: kb('SwapFree') ?? 0 };
}

/** /proc/loadavg: `0.64 0.50 0.25 4/191 13242`. */
export function parseLoadavg(text: string): LoadAverage | null {
  const [one, five, fifteen] = text.trim().split(/\s+/).map(Number);
  if (![one, five, fifteen].every((n) => n !== undefined && Number.isFinite(n))) return null;
  return { one: one!, five: five!, fifteen: fifteen! };
}

/** /sys/devices/system/cpu/online: `0-3,6` → 5. */
export function parseCpuList(text: string): number | null {
  let count = 0;
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) return null;
    count += match[2] === undefined ? 1 : Number(match[2]) - Number(match[1]) + 1;
  }
  return count > 0 ? count : null;
}

/** /proc/cpuinfo: one `processor :` line per CPU. */
export function countCpuinfo(text: string): number | null {
  const count = (text.match(/^processor\s*:/gm) ?? []).length;
  return count > 0 ? count : null;
}

/** `oom_kill N` of /proc/vmstat (kernel 4.13+). */
export function parseVmstatOomKills(text: string): number | null {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}
