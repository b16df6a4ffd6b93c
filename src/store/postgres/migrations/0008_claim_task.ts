import type { Migration } from './index.ts';

/**
 * The task claim as one server-side call (issue 8): `nightshift_claim_task` does what a claim did in six client round
 * trips inside one transaction (lock, reap of lapsed leases with their failure rows, pause, concurrency, rate with its
 * claim row, budget, pick `FOR UPDATE SKIP LOCKED`, mark claimed), so the queue's lock is held for the server's work
 * only. No table changes: SQLite's 0008 is a no-op of the same name, to keep the numbering identical.
 *
 * Which lock (the two-number advisory locks of src/store/postgres/advisory.ts; the numbers are written out here because
 * a shipped migration must never change):
 * - Exclusive on (1853030404 = tasks, hashtext(queue)), as before, when a limit can bind: the queue has a rate or a
 *   retry budget, its running tasks are within SLOTS (8) of its concurrency, or the caller asks (`p_exclusive`).
 * - Otherwise ("wide": far below its concurrency, no rate, no budget) shared on that key plus one of 8 slot locks,
 *   exclusive on (1853030405 = task slots, hashtext(queue) # k). At most 8 such claims of a queue are in flight at
 *   once, and each counts the running tasks after taking its slot and goes on only if count + 8 <= concurrency: the
 *   running tasks plus every claim in flight stay within the concurrency. A wide claim that finds the queue has
 *   come within 8 of it returns blocked = 'exclusive' and the caller calls again with `p_exclusive` (a shared lock
 *   cannot be upgraded in place without risking a deadlock). The exclusive lock waits for every shared holder.
 *
 * Lapsed leases of the queue are reaped only when the running count sees one (`FOR UPDATE SKIP LOCKED`: a row another
 * claim is reaping, or a worker completing, is left to it), so the common claim reads the running rows once.
 *
 * Returns one row: the claimed task's columns with blocked = NULL, or NULL columns with blocked ('paused',
 * 'concurrency', 'rate', 'budget', 'empty', 'exclusive') and retry_at (epoch ms, or NULL).
 */
export const migration0008: Migration = {
  version: 8,
  name: 'claim_task',
  sql: `
CREATE FUNCTION nightshift_claim_task(
  p_queue text, p_now bigint, p_token text, p_lease_ms bigint, p_run_id text, p_claimed_by text,
  p_retries integer, p_concurrency integer, p_rate_count integer, p_rate_ms bigint,
  p_budget_count integer, p_budget_ms bigint, p_lapsed text, p_exclusive boolean)
RETURNS TABLE (id text, queue text, payload text, priority integer, run_at bigint, key text, state text,
  attempt integer, lease_token text, lease_expires_at bigint, run_id text, claimed_by text, last_error text,
  result text, created_at bigint, updated_at bigint, blocked text, retry_at bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
  c_slots CONSTANT integer := 8;
  v_key integer := hashtext(p_queue);
  v_wide boolean := false;
  v_first_slot integer;
  v_slotted boolean := false;
  v_running bigint;
  v_next bigint;
  v_lapsed boolean;
  v_paused bigint;
  v_n bigint;
  v_at bigint;
  v_budget_until bigint;
  v_id text;
  v_first bigint;
  v_retry bigint;
  v_retry_at bigint;
BEGIN
  IF NOT p_exclusive AND p_rate_count IS NULL AND p_budget_count IS NULL AND p_concurrency > c_slots THEN
    SELECT count(*) INTO v_running FROM tasks t WHERE t.queue = p_queue AND t.state = 'running';
    v_wide := v_running + c_slots <= p_concurrency;
  END IF;

  IF v_wide THEN
    PERFORM pg_advisory_xact_lock_shared(1853030404, v_key);
    v_first_slot := pg_backend_pid() % c_slots;
    FOR i IN 0 .. c_slots - 1 LOOP
      IF pg_try_advisory_xact_lock(1853030405, v_key # ((v_first_slot + i) % c_slots)) THEN
        v_slotted := true;
        EXIT;
      END IF;
    END LOOP;
    IF NOT v_slotted THEN
      PERFORM pg_advisory_xact_lock(1853030405, v_key # v_first_slot);
    END IF;
  ELSE
    PERFORM pg_advisory_xact_lock(1853030404, v_key);
  END IF;

  SELECT count(*), min(t.lease_expires_at), coalesce(bool_or(t.lease_expires_at < p_now), false)
    INTO v_running, v_next, v_lapsed FROM tasks t WHERE t.queue = p_queue AND t.state = 'running';
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

  SELECT s.paused_until INTO v_paused FROM queue_state s WHERE s.queue = p_queue;
  IF v_paused IS NOT NULL AND v_paused > p_now THEN
    RETURN QUERY SELECT (NULL::tasks).*, 'paused'::text, v_paused;
    RETURN;
  END IF;

  IF v_wide AND v_running + c_slots > p_concurrency THEN
    RETURN QUERY SELECT (NULL::tasks).*, 'exclusive'::text, NULL::bigint;
    RETURN;
  END IF;
  -- A lease lapses the moment after it expires (it is held through its expiry instant).
  IF v_running >= p_concurrency THEN
    RETURN QUERY SELECT (NULL::tasks).*, 'concurrency'::text, v_next + 1;
    RETURN;
  END IF;

  IF p_rate_count IS NOT NULL THEN
    SELECT count(*) INTO v_n FROM task_claims c WHERE c.queue = p_queue AND c.at > p_now - p_rate_ms;
    IF v_n >= p_rate_count THEN
      -- The claim whose leaving the window frees a slot: claims count while at > now - perMs.
      SELECT c.at INTO v_at FROM task_claims c WHERE c.queue = p_queue AND c.at > p_now - p_rate_ms
        ORDER BY c.at LIMIT 1 OFFSET v_n - p_rate_count;
      RETURN QUERY SELECT (NULL::tasks).*, 'rate'::text, v_at + p_rate_ms;
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

  IF v_budget_until IS NULL THEN
    SELECT t.id INTO v_id FROM tasks t WHERE t.queue = p_queue AND t.state = 'queued' AND t.run_at <= p_now
      ORDER BY t.priority DESC, t.run_at, t.id LIMIT 1 FOR UPDATE SKIP LOCKED;
  ELSE
    SELECT t.id INTO v_id FROM tasks t WHERE t.queue = p_queue AND t.state = 'queued' AND t.run_at <= p_now AND t.attempt = 0
      ORDER BY t.priority DESC, t.run_at, t.id LIMIT 1 FOR UPDATE SKIP LOCKED;
  END IF;

  IF v_id IS NULL THEN
    IF v_budget_until IS NULL THEN
      SELECT min(t.run_at) INTO v_at FROM tasks t WHERE t.queue = p_queue AND t.state = 'queued';
      RETURN QUERY SELECT (NULL::tasks).*, 'empty'::text, v_at;
      RETURN;
    END IF;
    SELECT min(CASE WHEN t.attempt = 0 THEN t.run_at END), min(CASE WHEN t.attempt > 0 THEN t.run_at END)
      INTO v_first, v_retry FROM tasks t WHERE t.queue = p_queue AND t.state = 'queued';
    IF v_retry IS NOT NULL THEN v_retry_at := greatest(v_retry, v_budget_until); END IF;
    RETURN QUERY SELECT (NULL::tasks).*,
      CASE WHEN v_retry IS NOT NULL AND v_retry <= p_now THEN 'budget' ELSE 'empty' END::text, least(v_first, v_retry_at);
    RETURN;
  END IF;

  RETURN QUERY UPDATE tasks t SET state = 'running', attempt = t.attempt + 1, lease_token = p_token,
    lease_expires_at = p_now + p_lease_ms, run_id = p_run_id, claimed_by = p_claimed_by, updated_at = p_now
    WHERE t.id = v_id RETURNING t.*, NULL::text, NULL::bigint;
  IF p_rate_count IS NOT NULL THEN
    INSERT INTO task_claims (queue, at) VALUES (p_queue, p_now);
  END IF;
END
$fn$;
`,
};
