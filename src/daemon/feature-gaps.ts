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
    if (job.memoryBytes !== null) gaps.push(at('memory'));
    if (job.cpuPercent !== null) gaps.push(at('cpu'));
    if (job.breaker !== null) gaps.push(at('breaker'));
    if (job.budget !== null) gaps.push(at('budget'));
    if (job.retries.budget !== null) gaps.push(at('retries.budget'));
    if (job.queue !== null) gaps.push(at('queue'));
    if (job.after !== null) gaps.push(at('after'));
    if (job.node !== null) gaps.push(at('node'));
  }
  if (Object.keys(config.queues).length) gaps.push('queues');
  if (config.limits.minAvailableMemoryBytes > 0) gaps.push('limits.min_available_memory');
  if (config.store.kind === 'postgres') gaps.push('store (postgres)');
  return gaps;
}

export function describeGaps(gaps: string[]): string {
  return `accepted but not enforced by this version yet: ${gaps.join(', ')}`;
}
