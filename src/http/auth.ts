/**
 * Who is calling: the operator with the API token, or a run with its own per-run token (NIGHTSHIFT_RUN_TOKEN). A run's
 * token lets it act as itself and only itself: report on itself, and use the coordination API (tasks, state, locks)
 * under its own name, so an audit log or a lease can say which run did it.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { ControlPlane } from './control-plane.ts';

export type Caller = { kind: 'api' } | { kind: 'run'; runId: string };

/** Path prefixes under /api/v1 where a run's own token is enough to write; their routes see the run as the caller. */
export const RUN_WRITABLE_PREFIXES = ['/tasks', '/queues', '/state', '/locks', '/upstream'] as const;

/** The bearer token of the request (or `?token=`), '' when none. */
export function presentedToken(c: Context): string {
  const header = c.req.header('authorization') ?? '';
  return header.startsWith('Bearer ') ? header.slice(7).trim() : (c.req.query('token') ?? '');
}

/** The caller a request's token proves, or null when it proves nothing. */
export function callerOf(plane: ControlPlane, c: Context): Caller | null {
  const token = presentedToken(c);
  if (token === '') return null;
  if (isApiToken(plane, token)) return { kind: 'api' };
  const runId = plane.runIdForToken(token);
  return runId === null ? null : { kind: 'run', runId };
}

export function isApiToken(plane: ControlPlane, token: string): boolean {
  const given = Buffer.from(token);
  const expected = Buffer.from(plane.apiToken());
  return given.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
}

/** Whether a path (relative to /api/v1) is one where a run's own token may write. */
export function runMayWrite(path: string): boolean {
  return RUN_WRITABLE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}
