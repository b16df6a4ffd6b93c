import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * runitor's pinging, transcribed from bdd/runitor: cmd/runitor/main.go `Run` (a UUIDv4 run id per run; start ping;
 * Ping-Body-Limit from its response, capped at 10 MB; the command's stdout+stderr in a ring buffer keeping the last
 * N bytes, with "\n[runitor] exit status N" and "\n[runitor] Output truncated to last N bytes." written into it; exit
 * 0 → success ping, non-zero → exit-code ping) and internal/api.go (`ping`: url.JoinPath(base, handle, type) with
 * `create=1` and `rid` query parameters, url.Values sorting the keys; `Post`: POST, Content-Type text/plain, its
 * User-Agent, an explicit Content-Length, DefaultRetries 2 with linear backoff on 408, 429, 500, 502, 503, 504 —
 * its retry of network timeouts is left out, a local socket does not time out; 200 and 201 are success).
 */
export async function runitor(base: string, handle: string, script: string, opts: { create?: boolean; backoffMs?: number } = {}) {
  const rid = randomUUID();
  const userAgent = 'runitor/v1.4.1 (linux-amd64; +https://bdd.fi/x/runitor)'; // "%s/%s (%s-%s; +%s)"
  const ping = async (typePath: string, body: Buffer): Promise<IncomingMessage> => {
    const url = new URL(base);
    url.pathname = posix.join(url.pathname, handle, typePath); // Go's path.Join drops the empty element
    // url.Values.Encode sorts by key: create before rid.
    url.search = new URLSearchParams(opts.create ? { create: '1', rid } : { rid }).toString();
    const retries = 2; // DefaultRetries
    let lastError = '';
    for (let tries = 0; ; ) {
      await sleep(tries * (opts.backoffMs ?? 1000));
      if ((tries += 1) > 1 + retries) throw new Error(`max tries reached after try ${tries - 1}. last error: ${lastError}`);
      const req = request(url, {
        method: 'POST',
        // What Go's net/http sends for this request: Host, User-Agent, Content-Length, Content-Type, Accept-Encoding.
        headers: { 'User-Agent': userAgent, 'Content-Length': String(body.length), 'Content-Type': 'text/plain', 'Accept-Encoding': 'gzip' },
      });
      req.end(body);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.resume();
      if (res.statusCode === 200 || res.statusCode === 201) return res;
      if (![408, 429, 500, 502, 503, 504].includes(res.statusCode ?? 0)) throw new Error(`nonretriable error response: ${res.statusCode}`);
      lastError = `${res.statusCode}`;
    }
  };
  const started = await ping('start', Buffer.alloc(0));
  const limit = Math.min(Number(started.headers['ping-body-limit'] ?? 10_000), 10_000_000);
  let ring = Buffer.alloc(0);
  let wrapped = false;
  const write = (chunk: Buffer | string) => {
    ring = Buffer.concat([ring, Buffer.from(chunk)]);
    if (ring.length > limit) [ring, wrapped] = [ring.subarray(ring.length - limit), true];
  };
  // Go's os/exec gives stdout and stderr one pipe when they are the same Writer, so their order holds; so does this.
  const child = spawn('sh', ['-c', `exec 2>&1; ${script}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout.on('data', write);
  const [exitCode] = (await once(child, 'close')) as [number];
  if (exitCode > 0) write(`\n[runitor] exit status ${exitCode}`);
  if (wrapped) write(`\n[runitor] Output truncated to last ${limit} bytes.`);
  await ping(exitCode === 0 ? '' : String(exitCode), ring);
  return { rid, exitCode };
}
