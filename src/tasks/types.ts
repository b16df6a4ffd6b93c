/**
 * What the task-queue service speaks: who is asking, the task as the API and `--json` print it, and the errors it
 * raises with a stable code the HTTP layer maps to a status.
 */
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
