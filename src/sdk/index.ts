/**
 * nightshift's SDK: what job code imports (`import { heartbeat, tasks, state, lock } from 'nightshift/sdk'`). Inside a
 * run it finds the daemon through the run's environment; see docs/sdk.md. Every call has a CLI twin and an HTTP
 * endpoint, so jobs in other languages get the same features with curl.
 */
export { NightshiftError, ConflictError } from './client.ts';
export { heartbeat, output, spend, retryAfter } from './run.ts';
