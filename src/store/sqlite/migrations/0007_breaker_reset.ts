import type { Migration } from './index.ts';

/**
 * Breaker resets: when `resume` closes a breaker it records the moment, and the breaker counts outputs (or spend)
 * only from then on until its window has passed. Without it the outputs that opened the breaker were still inside
 * the window after a resume, so the very next output opened it again at once. NULL: never reset. INTEGER epoch ms.
 */
export const migration0007: Migration = {
  version: 7,
  name: 'breaker_reset',
  sql: `
ALTER TABLE breakers ADD COLUMN reset_at INTEGER;
`,
};
