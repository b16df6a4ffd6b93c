/**
 * A check's state at a moment, worked out from its record and its plan — pure, so the watcher, `status`, /metrics
 * and /healthz all agree, and tests need no clock.
 *
 * Semantics follow Healthchecks.io, with one departure for checks owned by jobs:
 * - A success is expected by the next fire after the last success (cron checks) or `every` after it; past that the
 *   check is in `grace`; past the grace it is `down`.
 * - After a start ping the end must come within `grace` (Healthchecks.io's rule), else `down`; meanwhile `started`.
 * - A `new` check of an outside script (never pinged) never goes down, as on Healthchecks.io.
 * - A job's check counts from its creation instead: nightshift fires the job itself, so a job that has never once
 *   succeeded is exactly the silent failure the check is for (seed 000: eight days of nothing).
 * - After a resume, counting starts at the resume, so a check paused for a week is not down the moment it resumes.
 */
import type { CheckRecord, CheckState } from '../store/types.ts';
import { Timeline } from '../scheduler/timeline.ts';

export type CheckPlan =
  | { kind: 'schedule'; timeline: Timeline; graceMs: number }
  | { kind: 'every'; everyMs: number; graceMs: number };

export interface CheckView {
  state: CheckState;
  /** When a success is next expected (the check enters grace then); null when it is not expected (new, paused). */
  expectedAt: number | null;
  /** When it is (or was) down if no success arrives; null when nothing is expected (new external check, paused). */
  dueAt: number | null;
}

export function planFromSchedule(schedule: string, timezone: string | null, graceMs: number): CheckPlan {
  return { kind: 'schedule', timeline: new Timeline(schedule, timezone), graceMs };
}

export function evaluateCheck(record: CheckRecord, plan: CheckPlan, nowMs: number): CheckView {
  if (record.status === 'paused') return { state: 'paused', expectedAt: null, dueAt: null };
  const base = countingFrom(record);
  const startAt = ms(record.last_start_at);
  // Healthchecks.io: a check that has never succeeded holds no expectation, a start ping included.
  // A failure it reported itself still puts it down (Healthchecks.io: a /fail on a new check).
  if (base === null) return { state: record.status === 'down' ? 'down' : startAt !== null ? 'started' : 'new', expectedAt: null, dueAt: null };
  const expectedAt = base === null ? null : nextExpected(plan, base);
  let dueAt = expectedAt === null ? null : expectedAt + plan.graceMs;
  if (startAt !== null) dueAt = Math.min(dueAt ?? Infinity, startAt + plan.graceMs);

  // Still computed when down: a job's check that a failure marked down is also late once its success is overdue.
  if (record.status === 'down') return { state: 'down', expectedAt, dueAt };
  if (dueAt !== null && nowMs >= dueAt) return { state: 'down', expectedAt, dueAt };
  if (startAt !== null) return { state: 'started', expectedAt, dueAt };
  if (expectedAt !== null && nowMs >= expectedAt) return { state: 'grace', expectedAt, dueAt };
  return { state: record.status === 'new' ? 'new' : 'up', expectedAt, dueAt };
}

/** The next moment this check's view changes by the clock alone (grace begins, or it goes down); null if never. */
export function nextTransition(view: CheckView, nowMs: number): number | null {
  const moments = [view.expectedAt, view.dueAt].filter((t): t is number => t !== null && t > nowMs);
  return moments.length ? Math.min(...moments) : null;
}

function countingFrom(record: CheckRecord): number | null {
  const success = ms(record.last_success_at);
  const resumed = ms(record.resumed_at);
  const created = record.origin === 'job' ? ms(record.created_at) : null;
  const candidates = [success, resumed, created].filter((t): t is number => t !== null);
  return candidates.length ? Math.max(...candidates) : null;
}

function nextExpected(plan: CheckPlan, fromMs: number): number | null {
  return plan.kind === 'every' ? fromMs + plan.everyMs : plan.timeline.nextAfter(fromMs);
}

function ms(isoTime: string | null): number | null {
  return isoTime === null ? null : Date.parse(isoTime);
}
