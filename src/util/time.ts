/** ISO-8601 UTC, the format of every time in the store's records and the JSON contract. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A rounded duration for people (status tables, messages): 1500 → "1.5s", 90000 → "1m30s". */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = ms / 1000;
  if (totalSeconds < 60) return `${Number(totalSeconds.toFixed(1))}s`;
  const units: Array<[string, number]> = [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]];
  let rest = Math.round(totalSeconds);
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
