/**
 * The Healthchecks.io-compatible ping API as a hono sub-app, mounted at `/ping` (DESIGN.md "HTTP"), so existing
 * `curl -fsS --retry 5 https://hc-ping.com/<uuid>` lines and clients such as runitor only change their base URL.
 *
 * What is matched, and where it comes from (healthchecks/healthchecks unless noted):
 * - URL forms and trailing slashes: hc/api/urls.py (see ping-path.ts).
 * - Any HTTP method is a ping: the `ping` and `ping_by_slug` views have no method restriction and no OPTIONS
 *   handling (hc/api/views.py); docs/http_api lists HEAD, GET and POST, and test_head_works records a HEAD.
 *   So an OPTIONS (a browser's CORS preflight) is recorded and answered 200 "OK" as well, exactly as HC does.
 * - 200 "OK" with `Access-Control-Allow-Origin: *` and `Ping-Body-Limit: <bytes>` (views.py `ping`;
 *   test_ping.py test_it_works, test_it_chops_long_body); 201 "Created" when `?create=1` made the check
 *   (views.py `ping_by_slug`; test_ping_by_slug.py test_it_auto_provisions_missing_check).
 * - 404 "not found" for an unknown check, a wrong ping key, or a URL the router does not match
 *   (test_it_handles_missing_check, test_it_handles_bad_uuid, test_it_handles_wrong_ping_key).
 * - 400 "invalid url format" for an exit status above 255 (test_it_rejects_exit_status_over_255), 400 "invalid uuid
 *   format" for a malformed `?rid=` (test_it_handles_invalid_rid).
 * - `Content-Type: text/plain; charset=utf-8` as in every example response of docs/http_api; `Cache-Control` from
 *   Django's @never_cache on the `ping` view (test_it_never_caches).
 * - The body, of any content type, is kept up to the limit, the first bytes (views.py
 *   `request.body[: settings.PING_BODY_LIMIT]`; docs/http_api "will store the first 100 bytes and ignore the
 *   remaining 23"); the rest is read and dropped (see MAX_DISCARDED_BODY_BYTES). An upload the client abandons is
 *   not recorded: Django never hands such a request to a view.
 *
 * Where this differs, and why: HC looks the check up before it validates the exit status and the rid, so an unknown
 * check with `/256` or a bad rid gets 404 there and 400 here (PingIntake can record but not look up; both answers
 * are client errors that no client retries). Route misses answer a short text 404 instead of Django's HTML page.
 * A failing intake (the store is down) answers 503, which curl `--retry` and runitor both retry; HC has no such case.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { basePath } from 'hono/route';
import type { PingIntake, PingOutcome, PingRequest } from './ping-intake.ts';
import { MAX_EXIT_STATUS, parsePingPath, parsePingQuery, type PingAddress } from './ping-path.ts';

export interface PingRoutesOptions {
  /** Bytes of a request body kept as the ping's log (`http.ping_body_limit`); also sent as `Ping-Body-Limit`. */
  bodyLimitBytes: number;
  /** The current `http.ping_key`, read on every request so a config reload applies; null turns slug URLs off. */
  pingKey: () => string | null;
  /** Told when the intake throws (the client gets a 503 and retries), so the daemon can log why. */
  onIntakeError?: (error: unknown) => void;
}

type Answer = { status: 200 | 201 | 400 | 404 | 500 | 503; text: string; recorded: boolean };

const NOT_FOUND: Answer = { status: 404, text: 'not found', recorded: false };
/** What Django's @never_cache sets (django.utils.cache.add_never_cache_headers). */
const NEVER_CACHE = 'max-age=0, no-cache, no-store, must-revalidate, private';

export function pingRoutes(intake: PingIntake, opts: PingRoutesOptions): Hono {
  const app = new Hono();
  // Nothing below throws on client input; this only keeps a bug from reaching the parent app's JSON error handler.
  app.onError((_error, c) => respond(c, { status: 500, text: 'internal error', recorded: false }, opts));
  app.all('*', async (c) => respond(c, await answerPing(c, intake, opts), opts));
  return app;
}

async function answerPing(c: Context, intake: PingIntake, opts: PingRoutesOptions): Promise<Answer> {
  const parsed = parsePingPath(pathBelowMount(c));
  if (!parsed) return NOT_FOUND;
  const { address } = parsed;
  // HC finds slug checks by (ping key, slug); with a wrong key nothing matches, and it says only "not found".
  if (address.by === 'slug' && !sameSecret(address.pingKey, opts.pingKey())) return NOT_FOUND;
  if (parsed.exitStatus !== null && parsed.exitStatus > MAX_EXIT_STATUS) {
    return { status: 400, text: 'invalid url format', recorded: false };
  }
  const url = c.req.url;
  const queryStart = url.indexOf('?');
  const query = parsePingQuery(queryStart === -1 ? '' : url.slice(queryStart + 1));
  if (query.rid === 'invalid') return { status: 400, text: 'invalid uuid format', recorded: false };

  let body: string | null;
  try {
    // GET and HEAD carry no body; not touching c.req.raw spares building a whole Web Request (9% of a ping's CPU).
    body = c.req.method === 'GET' || c.req.method === 'HEAD' ? null : await readBodyPrefix(c.req.raw.body, opts.bodyLimitBytes);
  } catch {
    // The client went away mid-upload: nothing is recorded, and no one reads this answer.
    return { status: 400, text: 'incomplete request body', recorded: false };
  }

  const ping: PingRequest = {
    kind: parsed.kind,
    exitCode: parsed.kind === 'exit' ? parsed.exitStatus : null,
    rid: query.rid,
    body,
  };
  let outcome: PingOutcome;
  try {
    outcome = await deliver(intake, address, ping, query.create);
  } catch (error) {
    opts.onIntakeError?.(error);
    // 503, not 500: the ping was fine, the daemon cannot record it right now. runitor retries 408, 429, 500, 502,
    // 503, 504 (bdd/runitor internal/api.go RetriableResponseCodes); curl --retry retries 408, 429, 500, 502-504.
    return { status: 503, text: 'temporarily unavailable, retry', recorded: false };
  }
  if (outcome === 'not_found') return NOT_FOUND;
  return outcome === 'created'
    ? { status: 201, text: 'Created', recorded: true }
    : { status: 200, text: 'OK', recorded: true };
}

function deliver(intake: PingIntake, address: PingAddress, ping: PingRequest, create: boolean): Promise<PingOutcome> {
  // `?create=1` means something only on slug URLs; HC ignores it on uuid ones.
  return address.by === 'uuid' ? intake.pingByUuid(address.uuid, ping) : intake.pingBySlug(address.slug, ping, create);
}

function respond(c: Context, answer: Answer, opts: PingRoutesOptions): Response {
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': NEVER_CACHE };
  if (answer.recorded) {
    // HC adds both only on the success path of its `ping` view, after check.ping(); errors carry neither.
    headers['Access-Control-Allow-Origin'] = '*';
    headers['Ping-Body-Limit'] = String(opts.bodyLimitBytes);
  }
  return c.body(answer.text, answer.status, headers);
}

/** The request path below wherever the parent app mounted us (`/ping` in the daemon), or the whole path if unmounted. */
function pathBelowMount(c: Context): string {
  const base = basePath(c);
  return base === '/' || base === '' ? c.req.path : c.req.path.slice(base.length);
}

/** Compares the ping key without leaking, through timing, how much of a guess was right. */
function sameSecret(given: string, expected: string | null): boolean {
  if (expected === null || expected === '') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * How much of a body past the limit is read and dropped before answering anyway. Reading the rest lets the client
 * finish its upload and see our answer: closing on a client still sending makes `curl --data-binary @big.log` fail
 * with "Send failure: Broken pipe" (exit 55) after a 200. The cap keeps an endless upload from holding the handler:
 * it is well above anything a real client sends (runitor caps its bodies at 10 MB; HC's Django refuses bodies over
 * its 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE), and past it node-server's autoCleanupIncoming closes the connection.
 */
export const MAX_DISCARDED_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Keeps the first `limitBytes` of a request body, decoded as UTF-8 (null for no body or an empty one), and reads
 * and drops the rest, so a multi-megabyte body never sits in memory. The stream is released, not cancelled, at the
 * cap: cancelling makes node-server destroy the request, and with it the socket our answer goes out on.
 */
async function readBodyPrefix(body: ReadableStream<Uint8Array> | null, limitBytes: number): Promise<string | null> {
  if (body === null) return null;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let read = 0;
  try {
    while (read < limitBytes + MAX_DISCARDED_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      if (kept < limitBytes) {
        const wanted = Math.min(value.byteLength, limitBytes - kept);
        chunks.push(value.subarray(0, wanted));
        kept += wanted;
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (kept === 0) return null;
  const bytes = chunks.length === 1 && chunks[0] ? chunks[0] : concat(chunks, kept);
  // At the limit a multi-byte character may be cut in two; `stream: true` holds the partial one back instead of
  // turning it into U+FFFD. Other invalid bytes become U+FFFD: HC keeps any body ("test_it_accepts_bad_unicode"), and
  // PingRequest carries text. ignoreBOM keeps a leading BOM as sent.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes, { stream: read > kept });
  return text === '' ? null : text;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
