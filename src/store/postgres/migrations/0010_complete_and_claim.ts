import type { Migration } from './index.ts';

/**
 * Issue 8, claims at graphile-worker's pace: a worker's loop in one round trip per task, and less work per claim.
 *
 * - `nightshift_claim_task` (replacing 0008's, whose arguments it extends) optionally completes a task first: with
 *   `p_done_id`, it runs the store's fenced complete and, only if that was done, claims the next task of the queue
 *   in the same call and transaction — what BullMQ's workers do on completion. It returns the completed row (step
 *   'completed') or the refused task's current row (step 'refused'; no row: not found), then, after a completion or
 *   without one, the claim's row (step 'claim': the task's columns with blocked NULL, or NULL columns with blocked and
 *   retry_at as 0008 answered). One function, so a complete-and-claim pays for one PL/pgSQL call, not two.
 * - The claim does the same steps as 0008's with fewer statements, since PL/pgSQL pays for each: the running count,
 *   its lapsed-lease test and the pause in one SELECT; the pick and the mark in one UPDATE; no count before the locks.
 *   Which lock a claim takes is decided from its arguments alone: a queue with no rate, no retry budget and a
 *   concurrency of at least WIDE_FROM (64) takes the shared key plus a slot (0008 explains the slots); after the locks
 *   it counts, and within SLOTS (8) of the concurrency it answers 'exclusive' and the store calls again with the
 *   exclusive lock, as before. Every other queue takes the exclusive lock at once (0008 counted the running tasks
 *   without a lock to choose; that count cost a statement on every claim).
 * - Indexes (both dialects): a task's claim and its completion each rewrote three index entries (the primary key,
 *   tasks_claim and tasks_lease, both keyed on `state`). tasks_claim and tasks_lease become partial indexes of the
 *   states they serve — tasks_queued (the pick, and when the next task comes due), tasks_running (a queue's running
 *   count and lapsed leases, the reaper's next expiry) — and tasks_dead lists a queue's dead letter: a claim now
 *   writes two entries and a completion one.
 *
 * SQLite's 0010 makes the same index change; it needs no function (one writer).
 */
export const migration0010: Migration = {
  version: 10,
  name: 'complete_and_claim',
  sql: `
DROP INDEX tasks_claim;
DROP INDEX tasks_lease;
CREATE INDEX tasks_queued ON tasks (queue, priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX tasks_running ON tasks (queue, lease_expires_at) WHERE state = 'running';
CREATE INDEX tasks_dead ON tasks (queue, id) WHERE state = 'dead';

DROP FUNCTION nightshift_claim_task(text, bigint, text, bigint, text, text, integer, integer, integer, bigint, integer, bigint, text, boolean);
CREATE FUNCTION nightshift_claim_task(
  p_done_id text, p_fence_token text, p_fence_run text, p_result text, p_done_at bigint,
  p_queue text, p_now bigint, p_token text, p_lease_ms bigint, p_run_id text, p_claimed_by text,
  p_retries integer, p_concurrency integer, p_rate_count integer, p_rate_ms bigint,
  p_budget_count integer, p_budget_ms bigint, p_lapsed text, p_exclusive boolean)
RETURNS TABLE (id text, queue text, payload text, priority integer, run_at bigint, key text, state text,
  attempt integer, lease_token text, lease_expires_at bigint, run_id text, claimed_by text, last_error text,
  result text, created_at bigint, updated_at bigint, blocked text, retry_at bigint, step text)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
  c_slots CONSTANT integer := 8;
  c_wide_from CONSTANT integer := 64;
  v_key integer := hashtext(p_queue);
  v_wide boolean := NOT p_exclusive AND p_rate_count IS NULL AND p_budget_count IS NULL AND p_concurrency >= c_wide_from;
  v_first_slot integer;
  v_slotted boolean := false;
  v_running bigint;
  v_next bigint;
  v_lapsed boolean;
  v_paused bigint;
  v_n bigint;
  v_at bigint;
  v_budget_until bigint;
  v_first bigint;
  v_retry bigint;
  v_retry_at bigint;
BEGIN
  IF p_done_id IS NOT NULL THEN
    RETURN QUERY UPDATE tasks t SET state = 'done', result = p_result, lease_token = NULL, lease_expires_at = NULL,
        updated_at = p_done_at
      WHERE t.id = p_done_id AND t.state = 'running' AND (p_fence_token IS NULL OR t.lease_token = p_fence_token)
        AND (p_fence_run IS NULL OR t.run_id = p_fence_run)
      RETURNING t.*, NULL::text, NULL::bigint, 'completed'::text;
    IF NOT FOUND THEN
      RETURN QUERY SELECT t.*, NULL::text, NULL::bigint, 'refused'::text FROM tasks t WHERE t.id = p_done_id;
      RETURN;
    END IF;
  END IF;

  IF v_wide THEN
    PERFORM pg_advisory_xact_lock_shared(1853030404, v_key);
    v_first_slot := pg_backend_pid() % c_slots;
    FOR i IN 0 .. c_slots - 1 LOOP
      v_slotted := pg_try_advisory_xact_lock(1853030405, v_key # ((v_first_slot + i) % c_slots));
      EXIT WHEN v_slotted;
    END LOOP;
    IF NOT v_slotted THEN
      PERFORM pg_advisory_xact_lock(1853030405, v_key # v_first_slot);
    END IF;
  ELSE
    PERFORM pg_advisory_xact_lock(1853030404, v_key);
  END IF;

  SELECT count(*), min(t.lease_expires_at), coalesce(bool_or(t.lease_expires_at < p_now), false),
      (SELECT s.paused_until FROM queue_state s WHERE s.queue = p_queue)
    INTO v_running, v_next, v_lapsed, v_paused FROM tasks t WHERE t.queue = p_queue AND t.state = 'running';
  IF v_lapsed THEN
    -- Lapsed leases: back to the queue, due now, or to the dead letter once the retries are spent; each a failure.
    WITH lapsed AS (
      SELECT t.id FROM tasks t
      WHERE t.queue = p_queue AND t.state = 'running' AND t.lease_expires_at IS NOT NULL AND t.lease_expires_at < p_now
      ORDER BY t.id FOR UPDATE SKIP LOCKED
    ), reaped AS (
      UPDATE tasks t SET state = CASE WHEN t.attempt > p_retries THEN 'dead' ELSE 'queued' END, run_at = p_now,
        lease_token = NULL, lease_expires_at = NULL, last_error = p_lapsed, updated_at = p_now
      FROM lapsed WHERE t.id = lapsed.id RETURNING t.id
    )
    INSERT INTO task_failures (queue, at) SELECT p_queue, p_now FROM reaped;
    SELECT count(*), min(t.lease_expires_at) INTO v_running, v_next FROM tasks t WHERE t.queue = p_queue AND t.state = 'running';
  END IF;

  IF v_paused IS NOT NULL AND v_paused > p_now THEN
    RETURN QUERY SELECT (NULL::tasks).*, 'paused'::text, v_paused, 'claim'::text;
    RETURN;
  END IF;

  IF v_wide AND v_running + c_slots > p_concurrency THEN
    RETURN QUERY SELECT (NULL::tasks).*, 'exclusive'::text, NULL::bigint, 'claim'::text;
    RETURN;
  END IF;
  -- A lease lapses the moment after it expires (it is held through its expiry instant).
  IF v_running >= p_concurrency THEN
    RETURN QUERY SELECT (NULL::tasks).*, 'concurrency'::text, v_next + 1, 'claim'::text;
    RETURN;
  END IF;

  IF p_rate_count IS NOT NULL THEN
    SELECT count(*) INTO v_n FROM task_claims c WHERE c.queue = p_queue AND c.at > p_now - p_rate_ms;
    IF v_n >= p_rate_count THEN
      -- The claim whose leaving the window frees a slot: claims count while at > now - perMs.
      SELECT c.at INTO v_at FROM task_claims c WHERE c.queue = p_queue AND c.at > p_now - p_rate_ms
        ORDER BY c.at LIMIT 1 OFFSET v_n - p_rate_count;
      RETURN QUERY SELECT (NULL::tasks).*, 'rate'::text, v_at + p_rate_ms, 'claim'::text;
      RETURN;
    END IF;
  END IF;

  -- A spent retry budget holds the retries back (they wait, unburned), not new work.
  IF p_budget_count IS NOT NULL THEN
    SELECT count(*) INTO v_n FROM task_failures f WHERE f.queue = p_queue AND f.at > p_now - p_budget_ms;
    IF v_n >= p_budget_count THEN
      SELECT f.at INTO v_at FROM task_failures f WHERE f.queue = p_queue AND f.at > p_now - p_budget_ms
        ORDER BY f.at LIMIT 1 OFFSET v_n - p_budget_count;
      v_budget_until := v_at + p_budget_ms;
    END IF;
  END IF;

  -- The pick and the mark in one statement; the subquery's row lock holds the task until the claim commits.
  RETURN QUERY UPDATE tasks t SET state = 'running', attempt = t.attempt + 1, lease_token = p_token,
    lease_expires_at = p_now + p_lease_ms, run_id = p_run_id, claimed_by = p_claimed_by, updated_at = p_now
    WHERE t.id = (
      SELECT q.id FROM tasks q WHERE q.queue = p_queue AND q.state = 'queued' AND q.run_at <= p_now
        AND (v_budget_until IS NULL OR q.attempt = 0)
      ORDER BY q.priority DESC, q.run_at, q.id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING t.*, NULL::text, NULL::bigint, 'claim'::text;
  IF FOUND THEN
    IF p_rate_count IS NOT NULL THEN
      INSERT INTO task_claims (queue, at) VALUES (p_queue, p_now);
    END IF;
    RETURN;
  END IF;

  IF v_budget_until IS NULL THEN
    SELECT min(t.run_at) INTO v_at FROM tasks t WHERE t.queue = p_queue AND t.state = 'queued';
    RETURN QUERY SELECT (NULL::tasks).*, 'empty'::text, v_at, 'claim'::text;
    RETURN;
  END IF;
  SELECT min(CASE WHEN t.attempt = 0 THEN t.run_at END), min(CASE WHEN t.attempt > 0 THEN t.run_at END)
    INTO v_first, v_retry FROM tasks t WHERE t.queue = p_queue AND t.state = 'queued';
  IF v_retry IS NOT NULL THEN v_retry_at := greatest(v_retry, v_budget_until); END IF;
  RETURN QUERY SELECT (NULL::tasks).*,
    CASE WHEN v_retry IS NOT NULL AND v_retry <= p_now THEN 'budget' ELSE 'empty' END::text, least(v_first, v_retry_at), 'claim'::text;
END
$fn$;
`,
};
