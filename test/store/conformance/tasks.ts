/** Conformance: task queues (enqueue, claim under a lease, fencing, release, reaping, dead letter, limits, pauses). */
import { describe, expect, it } from 'vitest';
import type { ClaimRequest, NewTask, QueueLimits, Store } from '../../../src/store/types.ts';
import { newRunId } from '../../../src/util/ids.ts';
import { at, expectStoreError, type StoreContext } from './fixtures.ts';

const LIMITS: QueueLimits = { concurrency: 10, rate: null, retries: 2, budget: null };

function newTask(queue: string, overrides: Partial<NewTask> = {}): NewTask {
  return { id: newRunId(), queue, payload_json: '{"n":1}', priority: 0, run_at: at(0), key: null, created_at: at(0), ...overrides };
}

let tokens = 0;
function claim(queue: string, now: string, overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  tokens += 1;
  return { queue, now, lease_token: `lease-${tokens}`, lease_ms: 30_000, claimed_by: 'api', run_id: null, limits: LIMITS, ...overrides };
}

async function claimed(store: Store, queue: string, now: string, overrides: Partial<ClaimRequest> = {}) {
  const result = await store.claimTask(claim(queue, now, overrides));
  if (result.task === null) throw new Error(`nothing claimed from ${queue}: ${result.blocked}`);
  return result.task;
}

export function describeTasks(ctx: StoreContext): void {
  describe('tasks', () => {
    it('enqueues a task with its payload, and returns the existing one for a repeated key', async () => {
      const first = await ctx.store.enqueueTask(newTask('mail', { key: 'order-1', payload_json: '{"to":"a@b.c"}', priority: 5 }));
      expect(first.duplicate).toBe(false);
      expect(first.task).toMatchObject({ queue: 'mail', payload: { to: 'a@b.c' }, priority: 5, key: 'order-1', state: 'queued', attempt: 0 });

      const again = await ctx.store.enqueueTask(newTask('mail', { key: 'order-1', payload_json: '{"to":"x"}' }));
      expect(again).toEqual({ task: first.task, duplicate: true });
      // The key is per queue.
      expect((await ctx.store.enqueueTask(newTask('sms', { key: 'order-1' }))).duplicate).toBe(false);
    });

    it('claims the best due task: highest priority, then earliest run_at, then oldest; never a future one', async () => {
      const low = await ctx.store.enqueueTask(newTask('q', { priority: 0 }));
      const later = await ctx.store.enqueueTask(newTask('q', { priority: 9, run_at: at(60_000) }));
      const high = await ctx.store.enqueueTask(newTask('q', { priority: 9 }));

      const one = await claimed(ctx.store, 'q', at(1_000), { claimed_by: 'run:R1', run_id: 'R1' });
      expect(one).toMatchObject({ id: high.task.id, state: 'running', attempt: 1, claimed_by: 'run:R1', run_id: 'R1', lease_expires_at: at(31_000) });
      expect((await claimed(ctx.store, 'q', at(1_000))).id).toBe(low.task.id);
      const none = await ctx.store.claimTask(claim('q', at(1_000)));
      expect(none).toEqual({ task: null, blocked: 'empty', retry_at: at(60_000) });
      expect((await claimed(ctx.store, 'q', at(60_000))).id).toBe(later.task.id);
    });

    it('fences every step by the claim: a late complete from a lapsed lease is refused', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      const first = await claimed(ctx.store, 'q', at(0), { lease_ms: 1_000 });
      // Past the lease, the next claim reaps it and takes it under a new token.
      const second = await claimed(ctx.store, 'q', at(2_000));
      expect(second).toMatchObject({ id: first.id, attempt: 2 });
      expect(second.lease_token).not.toBe(first.lease_token);

      const late = await ctx.store.completeTask(first.id, { lease_token: first.lease_token }, '"late"', at(2_500));
      expect(late).toMatchObject({ ok: false, reason: 'lease_lost' });
      const done = await ctx.store.completeTask(first.id, { lease_token: second.lease_token }, '{"ok":true}', at(2_600));
      expect(done).toMatchObject({ ok: true, task: { state: 'done', result: { ok: true }, lease_token: null } });
      expect(await ctx.store.completeTask('nope', {}, null, at(0))).toEqual({ ok: false, reason: 'not_found', task: null });
    });

    it('refuses every step on a claim it does not hold, saying whether the task is gone or the claim lost', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      const task = await claimed(ctx.store, 'q', at(0), { run_id: 'RUN-A', claimed_by: 'run:RUN-A', lease_ms: 1_000 });
      const token = task.lease_token;
      // Both fences must match when both are given.
      expect(await ctx.store.extendTask(task.id, { lease_token: token, run_id: 'RUN-B' }, 5_000, at(1))).toMatchObject({ ok: false, reason: 'lease_lost', task: { id: task.id, state: 'running', lease_token: token } });
      expect(await ctx.store.extendTask(task.id, { lease_token: 'other' }, 5_000, at(1))).toMatchObject({ ok: false, reason: 'lease_lost' });
      expect(await ctx.store.releaseTask(task.id, { lease_token: 'other' }, { to: 'dead' }, 'x', at(1))).toMatchObject({ ok: false, reason: 'lease_lost', task: { state: 'running' } });
      for (const refused of [
        await ctx.store.extendTask('nope', {}, 5_000, at(1)),
        await ctx.store.releaseTask('nope', {}, { to: 'queued', run_at: at(1), charge: true }, null, at(1)),
      ]) {
        expect(refused).toEqual({ ok: false, reason: 'not_found', task: null });
      }
      // A refused step changed nothing; the right one still goes, and a step after the end is lost, not unknown.
      expect(await ctx.store.getTask(task.id)).toMatchObject({ state: 'running', lease_expires_at: at(1_000), last_error: null });
      expect(await ctx.store.completeTask(task.id, { lease_token: token, run_id: 'RUN-A' }, '[1]', at(2))).toMatchObject({ ok: true, task: { state: 'done', result: [1] } });
      expect(await ctx.store.completeTask(task.id, { lease_token: token }, '[2]', at(3))).toMatchObject({ ok: false, reason: 'lease_lost', task: { state: 'done', result: [1] } });
      expect(await ctx.store.extendTask(task.id, {}, 5_000, at(3))).toMatchObject({ ok: false, reason: 'lease_lost' });
    });

    it('reaps a lapsed lease of the queue it claims from: to the dead letter once spent, counted as a failure', async () => {
      const budget = { count: 5, perMs: 60_000 };
      const limits = { ...LIMITS, retries: 0, budget };
      const spent = (await ctx.store.enqueueTask(newTask('q'))).task;
      await claimed(ctx.store, 'q', at(0), { lease_ms: 1_000, limits });
      const next = (await ctx.store.enqueueTask(newTask('q'))).task;
      // The claim at 1_001 finds the lease lapsed: the task (attempt 1 > 0 retries) goes dead, the next one is claimed.
      expect((await claimed(ctx.store, 'q', at(1_001), { limits })).id).toBe(next.id);
      expect(await ctx.store.getTask(spent.id)).toMatchObject({ state: 'dead', lease_token: null, last_error: expect.stringMatching(/lease expired/) });
      expect(await ctx.store.getQueueBudget('q', budget, at(1_001))).toMatchObject({ failures: 1 });
      expect(await ctx.store.reapExpiredTasks(at(1_001), () => 0)).toEqual([]);
    });

    it('fences by run: another run cannot act on a run\'s claim', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      const task = await claimed(ctx.store, 'q', at(0), { run_id: 'RUN-A', claimed_by: 'run:RUN-A' });
      expect(await ctx.store.completeTask(task.id, { run_id: 'RUN-B' }, null, at(1))).toMatchObject({ ok: false, reason: 'lease_lost' });
      expect(await ctx.store.completeTask(task.id, { run_id: 'RUN-A' }, null, at(1))).toMatchObject({ ok: true });
    });

    it('extends a lease, and a lease held for a run stays held', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      await ctx.store.enqueueTask(newTask('q'));
      const task = await claimed(ctx.store, 'q', at(0), { lease_ms: 1_000 });
      const extended = await ctx.store.extendTask(task.id, { lease_token: task.lease_token }, 5_000, at(900));
      expect(extended).toMatchObject({ ok: true, task: { lease_expires_at: at(5_900) } });
      await expectStoreError(ctx.store.extendTask(task.id, {}, 0, at(900)), 'invalid_argument');

      const bound = await claimed(ctx.store, 'q', at(0), { claimed_by: 'job:writer' });
      expect(await ctx.store.bindTaskToRun(bound.id, bound.lease_token!, 'RUN-1', at(1))).toBe(true);
      expect(await ctx.store.bindTaskToRun(bound.id, 'wrong', 'RUN-2', at(1))).toBe(false);
      expect(await ctx.store.extendTask(bound.id, { run_id: 'RUN-1' }, 5_000, at(2))).toMatchObject({
        ok: true,
        task: { run_id: 'RUN-1', lease_expires_at: null },
      });
      expect(await ctx.store.nextLeaseExpiry()).toBe(at(5_900));
      // Not reaped however late: the run's end releases it.
      expect((await ctx.store.reapExpiredTasks(at(10_000_000), () => 2)).map((t) => t.id)).toEqual([task.id]);
      expect(await ctx.store.getTask(bound.id)).toMatchObject({ state: 'running', run_id: 'RUN-1' });
    });

    it('releases a claim back to the queue (charged or not) or to the dead letter, keeping the error', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      const task = await claimed(ctx.store, 'q', at(0));
      const back = await ctx.store.releaseTask(task.id, { lease_token: task.lease_token }, { to: 'queued', run_at: at(10_000), charge: true }, 'boom', at(1));
      expect(back).toMatchObject({ ok: true, task: { state: 'queued', attempt: 1, run_at: at(10_000), last_error: 'boom', lease_token: null } });

      const again = await claimed(ctx.store, 'q', at(10_000));
      const free = await ctx.store.releaseTask(again.id, {}, { to: 'queued', run_at: at(20_000), charge: false }, 'rate limited', at(10_001));
      expect(free).toMatchObject({ ok: true, task: { attempt: 1, last_error: 'rate limited' } });

      const third = await claimed(ctx.store, 'q', at(20_000));
      const dead = await ctx.store.releaseTask(third.id, {}, { to: 'dead' }, 'gave up', at(20_001));
      expect(dead).toMatchObject({ ok: true, task: { state: 'dead', last_error: 'gave up' } });
      expect((await ctx.store.listTasks({ queue: 'q', states: ['dead'] })).map((t) => t.id)).toEqual([task.id]);
      expect(await ctx.store.releaseTask(third.id, {}, { to: 'dead' }, null, at(20_002))).toMatchObject({ ok: false, reason: 'lease_lost' });

      const requeued = await ctx.store.requeueTask(task.id, at(30_000));
      expect(requeued).toMatchObject({ state: 'queued', attempt: 0, run_at: at(30_000), last_error: 'gave up' });
      expect(await ctx.store.requeueTask(task.id, at(30_000))).toBeNull();
    });

    it('reaps lapsed leases: back to the queue due now, or dead once the retries are spent', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      let task = await claimed(ctx.store, 'q', at(0), { lease_ms: 1_000 });
      expect(await ctx.store.nextLeaseExpiry()).toBe(at(1_000));
      expect(await ctx.store.reapExpiredTasks(at(1_000), () => 1)).toEqual([]);
      const reaped = await ctx.store.reapExpiredTasks(at(1_001), () => 1);
      expect(reaped).toMatchObject([{ id: task.id, state: 'queued', run_at: at(1_001), attempt: 1 }]);
      expect(reaped[0]!.last_error).toMatch(/lease expired/);
      expect(await ctx.store.nextLeaseExpiry()).toBeNull();

      task = await claimed(ctx.store, 'q', at(2_000), { lease_ms: 1_000 });
      expect(task.attempt).toBe(2);
      expect(await ctx.store.reapExpiredTasks(at(3_001), () => 1)).toMatchObject([{ id: task.id, state: 'dead' }]);
    });

    it('holds a queue to its concurrency, and says when a lease will lapse', async () => {
      for (let i = 0; i < 3; i++) await ctx.store.enqueueTask(newTask('q'));
      const limits = { ...LIMITS, concurrency: 2 };
      await claimed(ctx.store, 'q', at(0), { limits, lease_ms: 5_000 });
      const second = await claimed(ctx.store, 'q', at(0), { limits, lease_ms: 3_000 });
      expect(await ctx.store.claimTask(claim('q', at(1), { limits }))).toEqual({ task: null, blocked: 'concurrency', retry_at: at(3_001) });
      await ctx.store.completeTask(second.id, {}, null, at(2));
      expect((await ctx.store.claimTask(claim('q', at(3), { limits }))).task).not.toBeNull();
    });

    it('completes a task and claims the next in one step; the claim sees the slot the completion freed', async () => {
      const limits = { ...LIMITS, concurrency: 1 };
      const low = (await ctx.store.enqueueTask(newTask('q', { priority: 0 }))).task;
      const high = (await ctx.store.enqueueTask(newTask('q', { priority: 5 }))).task;
      const first = (await ctx.store.enqueueTask(newTask('q', { priority: 9 }))).task;
      const held = await claimed(ctx.store, 'q', at(0), { limits });
      expect(held.id).toBe(first.id);

      // Concurrency 1: the next claim can only succeed because the completion before it, in the same step, counted.
      const step = await ctx.store.completeTaskAndClaim(held.id, { lease_token: held.lease_token }, '{"ok":1}', at(10), claim('q', at(10), { limits, claimed_by: 'run:R2', run_id: 'R2' }));
      expect(step.completed).toMatchObject({ ok: true, task: { id: first.id, state: 'done', result: { ok: 1 }, lease_token: null, updated_at: at(10) } });
      expect(step.next).toMatchObject({ blocked: null, retry_at: null, task: { id: high.id, state: 'running', attempt: 1, claimed_by: 'run:R2', run_id: 'R2', lease_expires_at: at(30_010) } });

      // A wide queue (no rate, no budget, a large concurrency) takes the same path; an empty queue says so.
      const wide = { ...LIMITS, concurrency: 1_000 };
      const second = step.next!.task!;
      const last = await ctx.store.completeTaskAndClaim(second.id, { lease_token: second.lease_token, run_id: 'R2' }, null, at(20), claim('q', at(20), { limits: wide }));
      expect(last.completed).toMatchObject({ ok: true, task: { id: high.id, state: 'done', result: null } });
      expect(last.next?.task).toMatchObject({ id: low.id, state: 'running' });
      const third = last.next!.task!;
      const empty = await ctx.store.completeTaskAndClaim(third.id, { lease_token: third.lease_token }, null, at(30), claim('q', at(30), { limits: wide }));
      expect(empty).toEqual({ completed: { ok: true, task: expect.objectContaining({ id: low.id, state: 'done' }) }, next: { task: null, blocked: 'empty', retry_at: null } });
      expect((await ctx.store.countTasks()).find((c) => c.queue === 'q')).toMatchObject({ done: 3, running: 0, queued: 0 });
    });

    it('claims nothing when the complete before it is refused, and changes nothing', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      const waiting = (await ctx.store.enqueueTask(newTask('q'))).task;
      const held = await claimed(ctx.store, 'q', at(0), { run_id: 'RUN-A', claimed_by: 'run:RUN-A' });
      const wrongToken = await ctx.store.completeTaskAndClaim(held.id, { lease_token: 'other' }, '1', at(1), claim('q', at(1)));
      expect(wrongToken).toMatchObject({ completed: { ok: false, reason: 'lease_lost', task: { id: held.id, state: 'running', lease_token: held.lease_token } }, next: null });
      const wrongRun = await ctx.store.completeTaskAndClaim(held.id, { lease_token: held.lease_token, run_id: 'RUN-B' }, '1', at(1), claim('q', at(1)));
      expect(wrongRun).toMatchObject({ completed: { ok: false, reason: 'lease_lost' }, next: null });
      expect(await ctx.store.completeTaskAndClaim('nope', {}, null, at(1), claim('q', at(1)))).toEqual({ completed: { ok: false, reason: 'not_found', task: null }, next: null });
      expect(await ctx.store.getTask(waiting.id)).toMatchObject({ state: 'queued', attempt: 0 });
      expect(await ctx.store.getTask(held.id)).toMatchObject({ state: 'running', result: null, updated_at: at(0) });
    });

    it('holds a queue to its rate over a rolling window, counted in the store', async () => {
      for (let i = 0; i < 5; i++) await ctx.store.enqueueTask(newTask('q'));
      const limits = { ...LIMITS, rate: { count: 2, perMs: 60_000 } };
      const a = await claimed(ctx.store, 'q', at(0), { limits });
      await claimed(ctx.store, 'q', at(10_000), { limits });
      await ctx.store.completeTask(a.id, {}, null, at(10_001));
      expect(await ctx.store.claimTask(claim('q', at(20_000), { limits }))).toEqual({ task: null, blocked: 'rate', retry_at: at(60_000) });
      expect((await ctx.store.claimTask(claim('q', at(60_000), { limits }))).task).not.toBeNull();
      expect(await ctx.store.claimTask(claim('q', at(60_001), { limits }))).toMatchObject({ blocked: 'rate', retry_at: at(70_000) });
    });

    it('pauses a queue until a time; a shorter pause never cuts a longer one', async () => {
      await ctx.store.enqueueTask(newTask('q'));
      expect(await ctx.store.getQueueState('q')).toEqual({ queue: 'q', paused_until: null, pause_reason: null });
      await ctx.store.pauseQueue('q', at(120_000), 'Retry-After 2m');
      expect(await ctx.store.pauseQueue('q', at(60_000), 'shorter')).toEqual({ queue: 'q', paused_until: at(120_000), pause_reason: 'Retry-After 2m' });
      expect(await ctx.store.claimTask(claim('q', at(1_000)))).toEqual({ task: null, blocked: 'paused', retry_at: at(120_000) });
      expect((await ctx.store.claimTask(claim('q', at(120_001)))).task).not.toBeNull();
    });

    it('counts charged failures per queue for its retry budget, and while it is spent claims first attempts only', async () => {
      const budget = { count: 2, perMs: 60_000 };
      const limits = { ...LIMITS, budget };
      const a = (await ctx.store.enqueueTask(newTask('q'))).task;
      // A lapsed lease is a charged failure (at 1_001); so is a failure that spends an attempt (at 2_500).
      await claimed(ctx.store, 'q', at(0), { lease_ms: 1_000, limits });
      await ctx.store.reapExpiredTasks(at(1_001), () => 5);
      await claimed(ctx.store, 'q', at(2_000), { limits });
      await ctx.store.releaseTask(a.id, {}, { to: 'queued', run_at: at(3_000), charge: true }, 'boom', at(2_500));
      expect(await ctx.store.getQueueBudget('q', budget, at(3_000))).toEqual({ queue: 'q', failures: 2, exhausted_until: at(61_001) });
      expect(await ctx.store.getQueueBudget('other', budget, at(3_000))).toEqual({ queue: 'other', failures: 0, exhausted_until: null });

      // Spent: new work still goes, and an uncharged release (a Retry-After) does not count.
      const b = (await ctx.store.enqueueTask(newTask('q'))).task;
      expect((await claimed(ctx.store, 'q', at(3_000), { limits })).id).toBe(b.id);
      await ctx.store.releaseTask(b.id, {}, { to: 'queued', run_at: at(3_000), charge: false }, 'HTTP 429', at(3_000));
      expect((await ctx.store.getQueueBudget('q', budget, at(3_000))).failures).toBe(2);
      expect((await claimed(ctx.store, 'q', at(3_001), { limits })).id).toBe(b.id);
      await ctx.store.completeTask(b.id, {}, null, at(3_002));

      // The retry waits (neither burned nor dead) until the window lets one through, or a first attempt is due.
      const c = (await ctx.store.enqueueTask(newTask('q', { run_at: at(30_000) }))).task;
      expect(await ctx.store.claimTask(claim('q', at(4_000), { limits }))).toEqual({ task: null, blocked: 'budget', retry_at: at(30_000) });
      expect(await ctx.store.getTask(a.id)).toMatchObject({ state: 'queued', attempt: 2 });
      expect((await claimed(ctx.store, 'q', at(30_000), { limits })).id).toBe(c.id);
      expect(await ctx.store.claimTask(claim('q', at(30_001), { limits }))).toEqual({ task: null, blocked: 'budget', retry_at: at(61_001) });
      expect(await ctx.store.claimTask(claim('q', at(30_001), { limits: LIMITS }))).toMatchObject({ task: { id: a.id } });

      // A dead letter is a charged failure too; pruning forgets failures older than the cutoff.
      await ctx.store.releaseTask(a.id, {}, { to: 'dead' }, 'gave up', at(61_002));
      expect(await ctx.store.getQueueBudget('q', budget, at(61_002))).toEqual({ queue: 'q', failures: 2, exhausted_until: at(62_500) });
      await ctx.store.pruneTasks(at(3_000));
      expect(await ctx.store.getQueueBudget('q', budget, at(61_002))).toEqual({ queue: 'q', failures: 1, exhausted_until: null });
    });

    it('lists, counts and prunes', async () => {
      const a = await ctx.store.enqueueTask(newTask('a'));
      await ctx.store.enqueueTask(newTask('a'));
      await ctx.store.enqueueTask(newTask('b'));
      const task = await claimed(ctx.store, 'a', at(0), { run_id: 'R' });
      await ctx.store.completeTask(task.id, {}, null, at(1_000));
      expect(await ctx.store.countTasks()).toEqual([
        { queue: 'a', queued: 1, running: 0, done: 1, dead: 0 },
        { queue: 'b', queued: 1, running: 0, done: 0, dead: 0 },
      ]);
      expect((await ctx.store.listTasks({ run_id: 'R' })).map((t) => t.id)).toEqual([a.task.id]);
      expect(await ctx.store.listTasks({ queue: 'a', limit: 1 })).toHaveLength(1);
      expect(await ctx.store.getTask(a.task.id)).toMatchObject({ state: 'done' });
      expect(await ctx.store.pruneTasks(at(1_000))).toEqual({ deleted: 0 });
      expect(await ctx.store.pruneTasks(at(1_001))).toEqual({ deleted: 1 });
      expect(await ctx.store.getTask(a.task.id)).toBeNull();
    });
  });
}
