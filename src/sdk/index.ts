/**
 * nightshift's SDK: what job code imports (`import { heartbeat, tasks, state, lock } from 'nightshift/sdk'`). Inside a
 * run it finds the daemon through the run's environment; see docs/sdk.md. Every call has a CLI twin and an HTTP
 * endpoint, so jobs in other languages get the same features with curl.
 */
export { NightshiftError, ConflictError } from './client.ts';
export { heartbeat, output, spend, retryAfter } from './run.ts';
export { tasks, RetryAfterError, type Task, type TaskRecord, type TasksApi, type EnqueueOptions, type ClaimOptions, type WorkOptions, type Worker, type TaskContext, type QueueInfo } from './tasks.ts';
export { state, type StateApi, type StateLogEntry } from './state.ts';
export { lock, type Lock, type LockOptions, type LockRecordJson } from './lock.ts';
export { upstream, type UpstreamApi, type UpstreamOptions, type Freshness } from './upstream.ts';
