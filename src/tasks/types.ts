/**
 * What the task-queue service speaks: who is asking, the task as the API and `--json` print it, and the errors it
 * raises with a stable code the HTTP layer maps to a status.
 */
import { TASKS } from '../config/defaults.ts';
import type { Task } from '../store/types.ts';

/** The operator (API token) or a run acting as itself (its own token): a run's claims belong to that run. */
export type TaskActor = { kind: 'api' } | { kind: 'run'; runId: string };

/** A task as the API shows it: the store's record without its lease token, which only the claimer gets. */
export type TaskJson = Omit<Task, 'lease_token'>;

/** What a claim returns: the task, plus the token that fences the steps on this claim (`token` on complete/fail). */
export interface ClaimedTask extends TaskJson {
  token: string;
}

export type TaskErrorCode =
  /** A queue not declared under `queues:`; the message lists the declared ones. */
  | 'unknown_queue'
  /** No task with that id. */
  | 'unknown_task'
  /** The claim this step names is over (lease lapsed and re-claimed, completed, or held by another run). */
  | 'lease_lost'
  /** A value the caller gave is wrong; the message names the field and the fix. */
  | 'bad_request'
  /** A run claims while not running (its token outlived it). */
  | 'not_running'
  /** A requeue of a task that is queued or running. */
  | 'not_requeueable';

export class TaskError extends Error {
  override name = 'TaskError';
  readonly code: TaskErrorCode;
  constructor(code: TaskErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function taskJson(task: Task): TaskJson {
  const { lease_token: _token, ...rest } = task;
  return rest;
}

export function claimedJson(task: Task): ClaimedTask {
  return { ...taskJson(task), token: task.lease_token ?? '' };
}

/** A result given to complete as stored JSON text (null for none). */
export function resultJson(result: unknown): string | null {
  return result === undefined || result === null ? null : jsonOf(result, 'result');
}

/** A payload or result as JSON text, refused (naming `field`) when it is not JSON or is too big to keep. */
export function jsonOf(value: unknown, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    throw new TaskError('bad_request', `${field} must be JSON-serialisable (${(error as Error).message})`);
  }
  if (json === undefined) throw new TaskError('bad_request', `${field} must be a JSON value`);
  if (Buffer.byteLength(json) > TASKS.max_payload) {
    throw new TaskError('bad_request', `${field} is ${Buffer.byteLength(json)} bytes of JSON, more than ${TASKS.max_payload}: store big data elsewhere and pass a reference`);
  }
  return json;
}

export function unknownTask(id: string): TaskError {
  return new TaskError('unknown_task', `no task with id '${id}'`);
}

export function leaseLost(task: Task | null, why: string): TaskError {
  const id = task?.id ?? '?';
  return new TaskError('lease_lost', `task ${id} is no longer held by this claim (${why}); nothing was recorded. Delivery is at least once: make the work idempotent (docs/tasks.md)`);
}
