/**
 * Reads a Healthchecks.io ping URL the way Healthchecks.io's own router does, so that every URL an existing crontab
 * line or client (runitor, hc-ping libraries) sends resolves here as it does there. Pure functions, no I/O: the
 * routes in ping-routes.ts decide the answers.
 *
 * Source: healthchecks/healthchecks hc/api/urls.py, whose ping patterns are, in this order
 *   ping/<uuid:code>                           success
 *   ping/<uuid:code>/ + ("" | fail | start | log | <int:exitstatus>)
 *   ping/<slug:ping_key>/<slug:slug>           success
 *   ping/<slug:ping_key>/<slug:slug>/ + (fail | start | log | <int:exitstatus>)
 * Django tries them in order and falls through to the next when an included list has no match, so
 * `/ping/<uuid>/abc` is read as ping key `<uuid>` + slug `abc` (and then answers 404, as no project has that key), and
 * `/ping/<key>/<slug>/` (a trailing slash on a slug URL) matches nothing: the slug list has no "" entry.
 */
import type { PingRequest } from './ping-intake.ts';

/** Which check a ping is for. */
export type PingAddress = { by: 'uuid'; uuid: string } | { by: 'slug'; pingKey: string; slug: string };

export interface PingPath {
  address: PingAddress;
  kind: PingRequest['kind'];
  /**
   * For `/<digits>` (kind `exit`): the number as written, which may be above 255 — Healthchecks.io's router accepts
   * any digits and the view then answers 400 "invalid url format", so the caller makes that answer. Null otherwise.
   */
  exitStatus: number | null;
}

/** Django's UUIDConverter: lowercase and hyphenated only (HC's test_it_rejects_alternative_uuid_formats). */
const UUID_SEGMENT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Django's SlugConverter `[-a-zA-Z0-9_]+`; HC's docs ask for `a-z 0-9 - _` but its router also lets capitals in. */
const SLUG_SEGMENT = /^[-a-zA-Z0-9_]+$/;
/** Django's IntConverter `[0-9]+`: no sign, leading zeros allowed (`/007` is exit status 7). */
const INT_SEGMENT = /^[0-9]+$/;
const ACTIONS: ReadonlyMap<string, PingRequest['kind']> = new Map([
  ['start', 'start'],
  ['fail', 'fail'],
  ['log', 'log'],
]);

/**
 * Parses the path below the `/ping` mount (`/<uuid>/start`, `/<key>/<slug>`, …); null when Healthchecks.io's router
 * would match nothing (it answers 404).
 *
 * One deliberate widening: the ping-key segment may hold any characters, not only slug ones. HC generates its keys
 * from `[-a-zA-Z0-9_]`, but `http.ping_key` is chosen by the user; a key with, say, a `.` must still work, and a
 * wrong key gets the same 404 either way.
 */
export function parsePingPath(path: string): PingPath | null {
  if (!path.startsWith('/')) return null;
  const segments = path.slice(1).split('/');
  const [first = '', second, third] = segments;
  if (segments.length === 1) {
    return UUID_SEGMENT.test(first) ? { address: { by: 'uuid', uuid: first }, kind: 'success', exitStatus: null } : null;
  }
  if (segments.length === 2 && second !== undefined && UUID_SEGMENT.test(first)) {
    const uuid: PingAddress = { by: 'uuid', uuid: first };
    if (second === '') return { address: uuid, kind: 'success', exitStatus: null };
    const action = readAction(second);
    if (action) return { address: uuid, ...action };
    // Not an action: Django goes on to the slug patterns, where the uuid is a ping key.
  }
  if (first === '' || second === undefined || !SLUG_SEGMENT.test(second)) return null;
  const address: PingAddress = { by: 'slug', pingKey: first, slug: second };
  if (segments.length === 2) return { address, kind: 'success', exitStatus: null };
  if (segments.length === 3 && third !== undefined) {
    const action = readAction(third);
    return action ? { address, ...action } : null;
  }
  return null;
}

function readAction(segment: string): Pick<PingPath, 'kind' | 'exitStatus'> | null {
  const named = ACTIONS.get(segment);
  if (named) return { kind: named, exitStatus: null };
  // Number() of a long digit string is a huge number or Infinity; both are > 255, which is all the caller asks.
  if (INT_SEGMENT.test(segment)) return { kind: 'exit', exitStatus: Number(segment) };
  return null;
}

/** The highest exit status HC accepts; above it the view answers 400 "invalid url format" (hc/api/views.py ping). */
export const MAX_EXIT_STATUS = 255;

export interface PingQuery {
  /** `?rid=`, lowercased; null when absent; 'invalid' when present but not a canonical UUID (HC answers 400). */
  rid: string | null | 'invalid';
  /** `?create=1` exactly, as HC's `request.GET.get("create") != "1"` (hc/api/views.py ping_by_slug). */
  create: boolean;
}

/**
 * HC requires "a client-picked UUID in the canonical textual representation" (docs/http_api, rid=) and answers
 * 400 "invalid uuid format" otherwise (test_it_handles_invalid_rid: "12345" and a 37-character uuid). Python's
 * UUID() reads either case, so both are accepted here and stored lowercase, as HC stores the parsed UUID.
 */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads `rid` and `create` from the raw query string (after `?`). Django's QueryDict.get returns the last of
 * repeated parameters, so the last one wins here too.
 */
export function parsePingQuery(search: string): PingQuery {
  const params = new URLSearchParams(search);
  const rid = params.getAll('rid').at(-1);
  const create = params.getAll('create').at(-1) === '1';
  if (rid === undefined) return { rid: null, create };
  return { rid: CANONICAL_UUID.test(rid) ? rid.toLowerCase() : 'invalid', create };
}
