/**
 * Who may see and do what on the dashboard (issue 9, "Access").
 *
 * - Reading is open when the daemon listens on loopback only; beyond loopback every page needs a session.
 * - A session is a cookie holding an HMAC of the API token (never the token itself): HttpOnly, SameSite=Strict,
 *   Secure over https. Changing the token (http.token, or the api-token file) ends every session.
 * - Every action is a POST that needs a session (or the bearer token) and a CSRF token derived from the session,
 *   on top of hono's Origin check and SameSite=Strict.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { DASHBOARD } from '../config/defaults.ts';
import { parseDuration } from '../config/units.ts';
import { isApiToken, presentedToken } from '../http/auth.ts';
import type { ControlPlane } from '../http/control-plane.ts';

export const SESSION_COOKIE = 'nightshift_session';

/** Whether the daemon listens on loopback only (where reading is open). */
export function listensOnLoopbackOnly(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

function derive(token: string, purpose: string): string {
  return createHmac('sha256', token).update(`nightshift-dashboard:${purpose}`).digest('base64url');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The session value for the current token. */
export function sessionValue(plane: ControlPlane): string {
  return derive(plane.apiToken(), 'session');
}

/** The CSRF token forms carry; bound to the session (and so to the API token). */
export function csrfToken(plane: ControlPlane): string {
  return derive(plane.apiToken(), 'csrf');
}

/** Whether the request carries a valid session cookie or the API token itself. */
export function isSignedIn(plane: ControlPlane, c: Context): boolean {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie !== undefined && same(cookie, sessionValue(plane))) return true;
  const token = c.req.header('authorization')?.startsWith('Bearer ') ? presentedToken(c) : '';
  return token !== '' && isApiToken(plane, token);
}

/** Whether the request may read the dashboard (and the event streams it uses). */
export function mayRead(plane: ControlPlane, c: Context): boolean {
  return listensOnLoopbackOnly(plane.config().http.host) || isSignedIn(plane, c);
}

export function mayAct(plane: ControlPlane, c: Context, formCsrf: string | undefined): boolean {
  if (!isSignedIn(plane, c)) return false;
  // A bearer-token caller (a script) is not a browser a third-party page can drive; a cookie caller must prove the form.
  if (getCookie(c, SESSION_COOKIE) === undefined) return true;
  return formCsrf !== undefined && same(formCsrf, csrfToken(plane));
}

export function startSession(plane: ControlPlane, c: Context): void {
  setCookie(c, SESSION_COOKIE, sessionValue(plane), {
    httpOnly: true,
    sameSite: 'Strict',
    secure: isHttps(c),
    path: '/',
    maxAge: Math.floor(parseDuration(DASHBOARD.session) / 1000),
  });
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c) });
}

/** https directly, or behind a proxy that says so. */
function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/** Only paths on this site, so `?next=` cannot send a signed-in user elsewhere. */
export function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/(?![/\\])/.test(next) ? next : '/';
}
