/**
 * The CLI's HTTP calls to its daemon (on loopback, usually), over node:http rather than fetch(). The first fetch()
 * of a process loads Node's bundled undici: measured on Node 20.20, fetching the status document took 45 ms from a
 * fresh process against 15 ms with node:http, a fifth of what `nightshift status` may take (docs/benchmarks.md,
 * section 3). Node's default agent keeps the connection alive, so a probe and the request after it share one.
 */
import { request } from 'node:http';

/**
 * How long the CLI waits for the daemon to answer before deciding it is not running. A daemon that is not there
 * refuses the connection at once; this only bounds a daemon that is there but slow (a loaded 1-CPU box), which must
 * not be mistaken for an absent one.
 */
export const PROBE_TIMEOUT_MS = 10_000;

export interface HttpCallInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | null;
  timeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  ok: boolean;
  text: string;
}

/** One request; rejects when there is no answer (refused, reset, timed out after `timeoutMs`). */
export function httpCall(url: string, init: HttpCallInit): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const options = { method: init.method ?? 'GET', headers: init.headers ?? {}, signal: AbortSignal.timeout(init.timeoutMs) };
    const req = request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(init.body ?? undefined);
  });
}

/** The body as JSON, or null when it is not JSON. */
export function jsonOf(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    return null;
  }
}
