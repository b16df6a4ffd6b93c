/**
 * Waits for a condition instead of sleeping a guessed time (STYLE.md practice 11): polls `cond` every `intervalMs`
 * until it returns a truthy value, which is returned, or throws after `timeoutMs` naming what was awaited.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(
  cond: () => T | Promise<T>,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value as NonNullable<T>;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
