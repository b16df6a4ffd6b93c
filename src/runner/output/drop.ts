/**
 * Why output is being dropped. Writers count dropped bytes per run and reason, and write one marker record per
 * reason (`[nightshift] dropped N bytes of output: <text>`) once output flows again or the run ends.
 */
export interface DropReason {
  /** Drops with the same key count into the same marker. */
  key: string;
  /** The end of the marker line; says why, and what would fix it. */
  text: string;
}

/** 1536 → "1.5 KiB"; for marker lines and messages. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : Number(value.toFixed(1))} ${units[unit]}`;
}
