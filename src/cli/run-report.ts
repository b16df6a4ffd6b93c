/**
 * How a run tells the daemon about itself from the CLI (`heartbeat`, `output`, `retry-after`): everything needed is
 * in the run's environment, so these read no config and open no store. They run inside jobs, often, so this imports
 * nothing but node:http(s) (main.ts builds a program holding only the one command for them).
 */
import { CliError, EXIT_FAILED, usageError } from './errors.ts';

/** Long enough for a daemon on a loaded 1-CPU box; a daemon that is not there refuses at once. */
const REPORT_TIMEOUT_MS = 10_000;

export type ReportKind = 'heartbeat' | 'outputs' | 'retry-after';

interface Target {
  runId: string;
  url: URL;
  token: string;
  /** The URL without its query, which may hold the run's token: what messages show. */
  shown: string;
}

/** Where a report goes, from the run's environment (DESIGN.md); null for an `exec` run, which has no token. */
export function reportTarget(env: NodeJS.ProcessEnv, kind: ReportKind): Target | null {
  const runId = env.NIGHTSHIFT_RUN_ID ?? '';
  if (runId === '') {
    throw usageError(`${kind === 'outputs' ? 'output' : kind} only works inside a run started by nightshift (NIGHTSHIFT_RUN_ID is not set); a job calls it while it runs`);
  }
  const given = kind === 'heartbeat' ? (env.NIGHTSHIFT_HEARTBEAT_URL ?? '') : '';
  const base = (env.NIGHTSHIFT_URL ?? '').replace(/\/+$/, '');
  if (given === '' && base === '') throw usageError(`${kind === 'heartbeat' ? 'neither NIGHTSHIFT_HEARTBEAT_URL nor NIGHTSHIFT_URL is' : 'NIGHTSHIFT_URL is not'} set, so there is no daemon to tell`);
  const raw = given !== '' ? given : `${base}/api/v1/runs/${encodeURIComponent(runId)}/${kind}`;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  // The value is not shown: NIGHTSHIFT_HEARTBEAT_URL carries the run's token.
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw usageError(`${given !== '' ? 'NIGHTSHIFT_HEARTBEAT_URL' : 'NIGHTSHIFT_URL'} is not an http(s) URL`);
  }
  const token = env.NIGHTSHIFT_RUN_TOKEN ?? '';
  if (token === '' && !url.searchParams.get('token')) return null;
  return { runId, url, token, shown: `${url.origin}${url.pathname}` };
}

/** POSTs `body` (JSON, or nothing) and returns the answer's JSON; a refusal or no answer is exit 1 naming why. */
export async function sendReport(target: Target, body: unknown, what: string): Promise<unknown> {
  const { request } = target.url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(text)) };
  if (target.token !== '') headers.authorization = `Bearer ${target.token}`;
  if (text !== '') headers['content-type'] = 'application/json';
  const signal = AbortSignal.timeout(REPORT_TIMEOUT_MS);
  let answer: { status: number; text: string };
  try {
    answer = await new Promise((resolve, reject) => {
      // agent: false, so no kept-alive socket outlives the answer.
      const req = request(target.url, { method: 'POST', headers, signal, agent: false }, (res) => {
        let received = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (received += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: received }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(text);
    });
  } catch (error) {
    const why = signal.aborted ? `no answer within ${REPORT_TIMEOUT_MS / 1000}s` : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
    throw new CliError(`could not reach the daemon at ${target.shown} (${why}); the ${what} was not recorded`, EXIT_FAILED);
  }
  if (answer.status >= 200 && answer.status < 300) return parse(answer.text);
  if (answer.status === 409) {
    throw new CliError(`the daemon says this run is not running (run ${target.runId}); the ${what} only counts while its run runs`, EXIT_FAILED);
  }
  throw new CliError(`the daemon refused the ${what} (HTTP ${answer.status}: ${errorMessage(answer.text)})`, EXIT_FAILED);
}

/** For an `exec` run: nothing watches it, so nothing is sent; said on stderr, and not an error. */
export function notWatched(what: string): void {
  process.stderr.write(`nightshift: this run was started by \`nightshift exec\`, which no daemon watches and which gets no run token; the ${what} was not sent\n`);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorMessage(text: string): string {
  const parsed = parse(text) as { error?: { message?: string } } | null;
  return parsed?.error?.message ?? text.trim();
}
