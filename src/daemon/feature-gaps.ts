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
    // Pinning picks one of several nodes; one SQLite file has one node, which runs everything.
    if (job.node !== null && config.store.kind === 'sqlite') gaps.push(at('node'));
  }
  return gaps;
}

export function describeGaps(gaps: string[]): string {
  return `accepted but not enforced by this version yet: ${gaps.join(', ')}`;
}
