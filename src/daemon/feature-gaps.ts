import type { ResolvedConfig } from '../config/types.ts';

/**
 * Settings the config accepts (the whole DESIGN.md schema is validated) that this version does not act on yet.
 * The daemon logs them at start and `validate` prints them, so nobody believes a memory limit or an alert channel is
 * protecting them when it is not. Each entry disappears when its feature lands.
 */
export function notYetEnforced(config: ResolvedConfig): string[] {
  const gaps: string[] = [];
  for (const job of Object.values(config.jobs)) {
    const at = (key: string) => `jobs.${job.name}.${key}`;
    if (job.node !== null) gaps.push(at('node'));
  }
  // PostgreSQL needs no entry: one daemon per database works like one on SQLite, and a second is refused at start
  // (instance-lock.ts) until leader election and run claims land (docs/scale-out.md).
  return gaps;
}

export function describeGaps(gaps: string[]): string {
  return `accepted but not enforced by this version yet: ${gaps.join(', ')}`;
}
