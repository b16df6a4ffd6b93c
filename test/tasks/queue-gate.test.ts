/**
 * The queue gate's waking rules, with a scripted claim in place of the store: a poke that comes while claims are
 * being made is never lost, a claim that found nothing due sleeps exactly until the moment the store named, and a
 * waiting claim that gives up is answered null (its place goes to the next in line).
 */
import { describe, expect, it } from 'vitest';
import type { ClaimResult, Task } from '../../src/store/types.ts';
import { QueueGate, type ClaimHolder } from '../../src/tasks/queue-gate.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const HOLDER: ClaimHolder = { claimed_by: 'api', run_id: null, lease_ms: 1000 };
const EMPTY: ClaimResult = { task: null, blocked: 'empty', retry_at: null };

function task(id: string): Task {
  const at = new Date(0).toISOString();
  return {
    id, queue: 'q', payload: null, priority: 0, run_at: at, key: null, state: 'running', attempt: 1, lease_token: 't', lease_expires_at: null,
    run_id: null, claimed_by: 'api', last_error: null, result: null, created_at: at, updated_at: at,
  };
}

/** A claim that answers from a list of results, and records when it was called. */
function scripted(results: Array<ClaimResult | (() => Promise<ClaimResult>)>) {
  const calls: number[] = [];
  const claim = async (): Promise<ClaimResult> => {
    calls.push(performance.now());
    const next = results.shift() ?? EMPTY;
    return typeof next === 'function' ? next() : next;
  };
  return { calls, claim };
}

describe('QueueGate', () => {
  it('does not lose a poke that comes while a claim is being made', async () => {
    let release!: () => void;
    const slow = () => new Promise<ClaimResult>((resolve) => (release = () => resolve(EMPTY)));
    const { calls, claim } = scripted([EMPTY, slow, { task: task('a'), blocked: null, retry_at: null }]);
    const gate = new QueueGate({ claim, giveBack: async () => undefined, logger: silentLogger() });
    const waiting = gate.take(HOLDER, 10_000);
    await waitFor(() => calls.length === 2, 2_000, 'the slow claim');
    gate.poke(); // the task arrives while the slow claim is still out
    release();
    expect((await waiting)?.id).toBe('a');
    expect(calls).toHaveLength(3);
    await gate.close();
  });

  it('sleeps until the moment the store named, not a poll interval', async () => {
    const dueAt = Date.now() + 150;
    const { calls, claim } = scripted([{ task: null, blocked: 'rate', retry_at: new Date(dueAt).toISOString() }, EMPTY, { task: task('b'), blocked: null, retry_at: null }]);
    const gate = new QueueGate({ claim, giveBack: async () => undefined, logger: silentLogger() });
    const claimed = await gate.take(HOLDER, 10_000);
    expect(claimed?.id).toBe('b');
    expect(Date.now()).toBeGreaterThanOrEqual(dueAt);
    expect(calls).toHaveLength(3); // the first try, the poke on subscribing, the timer: nothing in between
    await gate.close();
  });

  it('answers a claim that waited its time out with null, and one at shutdown too', async () => {
    const { claim } = scripted([]);
    const gate = new QueueGate({ claim, giveBack: async () => undefined, logger: silentLogger() });
    expect(await gate.take(HOLDER, 50)).toBeNull();
    expect(gate.waiting).toBe(0);
    const pending = gate.take(HOLDER, 10_000);
    await waitFor(() => gate.waiting === 1, 2_000, 'the claim to wait');
    await gate.close();
    expect(await pending).toBeNull();
  });
});
