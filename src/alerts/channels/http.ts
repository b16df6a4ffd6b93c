/**
 * What every HTTP channel shares: one POST under the outbox's signal, and one reading of what came back.
 *
 * Classification (the outbox retries only what can work later): 2xx delivered; 408, 429 and 5xx retryable, with
 * the receiver's Retry-After honoured; every other status (400 bad payload, 403/404 a revoked webhook, a 3xx that
 * would turn the POST into a GET) is not; a network error or a reply cut off is retryable.
 *
 * Error messages go to the log, the store and the `channel_failing` incident, so they never carry a secret: a URL
 * is shown as scheme://host only (Slack, Discord and Telegram put the token in the path), and the channel's secrets
 * are scrubbed from the body excerpt.
 */
import { VERSION } from '../../version.ts';
import { ChannelError } from '../types.ts';

export type FetchLike = typeof fetch;

export const USER_AGENT = `nightshift/${VERSION}`;

/** Enough of a reply to classify it and quote it; a receiver that streams megabytes is cut off here. */
const MAX_REPLY_BYTES = 64 * 1024;
const EXCERPT_CHARS = 200;

export interface PostRequest {
  /** The channel type, first word of every error message. */
  channel: string;
  url: string;
  headers: Headers;
  body: string | Uint8Array;
  signal: AbortSignal;
  fetch: FetchLike;
  /** Strings that must never appear in an error message (tokens, keys, secrets). */
  secrets: readonly string[];
}

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

export async function post(request: PostRequest): Promise<Reply> {
  const headers = new Headers(request.headers);
  if (!headers.has('user-agent')) headers.set('user-agent', USER_AGENT);
  try {
    // `manual`: following a 301/302 would resend the POST as a GET without its body; the user should fix the URL.
    const response = await request.fetch(request.url, {
      method: 'POST',
      headers,
      body: request.body,
      signal: request.signal,
      redirect: 'manual',
    });
    return { status: response.status, headers: response.headers, body: await readCapped(response) };
  } catch (error) {
    throw networkError(request, error);
  }
}

/** Throws the ChannelError for anything but a 2xx. `retryAfterMs` overrides the Retry-After header (a body hint). */
export function expectSuccess(request: PostRequest, reply: Reply, extra: { retryAfterMs?: number | null; message?: string } = {}): void {
  if (reply.status >= 200 && reply.status < 300) return;
  throw replyError(request, reply, extra);
}

export function replyError(request: PostRequest, reply: Reply, extra: { retryAfterMs?: number | null; message?: string } = {}): ChannelError {
  const { status } = reply;
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = extra.retryAfterMs ?? (retryable ? parseRetryAfter(reply.headers.get('retry-after')) : null);
  const said = extra.message ?? excerpt(reply.body, request.secrets);
  const redirect = status >= 300 && status < 400 ? ' (a redirect: set the channel to the URL it leads to)' : '';
  const message = `${request.channel} ${redactUrl(request.url)} answered ${status}${said === '' ? '' : `: ${said}`}${redirect}`;
  return new ChannelError(message, { retryable, retryAfterMs });
}

/** Retry-After as seconds (`120`, `1.5`) or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** `https://hooks.slack.com/services/T0/B0/XXXX` → `https://hooks.slack.com`: the path often is the secret. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unreadable URL)';
  }
}

/** A short, one-line, secret-free quote of a reply body. */
export function excerpt(body: string, secrets: readonly string[]): string {
  let text = body.replace(/\s+/g, ' ').trim();
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length >= 4) text = text.split(secret).join('[redacted]');
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/**
 * The parts of a URL that may be secret, for `secrets` lists: the path and query, credentials, and each long path
 * segment or query value on its own (a token is usually one segment; short ones like `hooks` are not secrets).
 */
export function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const pieces = [...parsed.pathname.split('/'), ...[...parsed.searchParams.values()]].filter((piece) => piece.length >= 12);
    return [url, parsed.pathname + parsed.search, parsed.username, parsed.password, ...pieces].filter((part) => part.length > 1);
  } catch {
    return [url];
  }
}

/** Parses JSON, or undefined: error replies from proxies are often HTML. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_REPLY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A request that got no complete reply. Retryable: DNS, a refused connection or a reset may all pass. The original
 * error is not attached because undici's messages can quote the whole URL ("Failed to parse URL from …").
 */
function networkError(request: PostRequest, error: unknown): ChannelError {
  const where = `${request.channel} ${redactUrl(request.url)}`;
  if (request.signal.aborted) return new ChannelError(`${where}: gave up, the delivery deadline passed`, { retryable: true });
  return new ChannelError(`${where}: no reply (${errorCode(error)})`, { retryable: true });
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && isRecord(current); depth++) {
    if (typeof current['code'] === 'string') return current['code'];
    current = current['cause'];
  }
  return error instanceof Error ? error.name : 'unknown error';
}
