/** The messages between the multi-process tests and store-child.ts. */
import type { LockHolder, NewRun } from '../../../src/store/types.ts';

export type ChildTask =
  | { kind: 'migrate'; path: string }
  | { kind: 'start-run'; path: string; lock: string; holder: LockHolder; run: Omit<NewRun, 'chain_id'>; now: string };

export type ChildMessage =
  | { event: 'ready' }
  | { event: 'pending'; versions: number[] }
  | { event: 'migrated'; applied: number[] }
  | { event: 'attempting' }
  | { event: 'started'; runId: string }
  | { event: 'held'; heldByToken: string }
  | { event: 'error'; code: string | null; message: string };

export type ChildEvent = ChildMessage['event'];
