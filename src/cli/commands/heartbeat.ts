/**
 * `nightshift heartbeat [NOTE]`: inside a run, tells the daemon the run is alive (jobs with `heartbeat:` are killed as
 * stalled without one). Everything it needs is in the run's environment, so it reads no config and opens no store;
 * it runs every few seconds inside jobs, so it imports nothing but node:http (main.ts builds a program holding only
 * this command for it) and answers in well under the time the full CLI takes just to load.
 */
import type { Command } from 'commander';
import { CliError, EXIT_FAILED, usageError } from '../errors.ts';

/** Long enough for a daemon on a loaded 1-CPU box; a daemon that is not there refuses at once. */
const HEARTBEAT_TIMEOUT_MS = 10_000;

interface Target {
  runId: string;
  url: URL;
  token: string;
  /** The URL without its query, which may hold the run's token: what messages show. */
  shown: string;
}

export function registerHeartbeat(program: Command): void {
  program
    .command('heartbeat')
    .argument('[note]', 'a short note sent along, e.g. what the run is working on')
    .description('inside a run: tell the daemon the run is alive (what `heartbeat:` in a job expects); needs no config')
    .action(async (note: string | undefined) => {
      const target = heartbeatTarget(process.env);
      if (target === null) {
        process.stderr.write(
          'nightshift: this run was started by `nightshift exec`, which no daemon watches for stalls and which gets no run token; the heartbeat was not sent\n',
        );
        return;
      }
      await send(target, note);
    });
}

/** Where the heartbeat goes, from the run's environment (DESIGN.md); null for an `exec` run, which has no token. */
function heartbeatTarget(env: NodeJS.ProcessEnv): Target | null {
  const runId = env.NIGHTSHIFT_RUN_ID ?? '';
  if (runId === '') {
    throw usageError('heartbeat only works inside a run started by nightshift (NIGHTSHIFT_RUN_ID is not set); a job calls it while it runs');
  }
  const given = env.NIGHTSHIFT_HEARTBEAT_URL ?? '';
  const base = (env.NIGHTSHIFT_URL ?? '').replace(/\/+$/, '');
  if (given === '' && base === '') throw usageError('neither NIGHTSHIFT_HEARTBEAT_URL nor NIGHTSHIFT_URL is set, so there is no daemon to tell');
  const raw = given !== '' ? given : `${base}/api/v1/runs/${encodeURIComponent(runId)}/heartbeat`;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  // The value is not shown: NIGHTSHIFT_HEARTBEAT_URL carries the run's token.
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw usageError(`${given !== '' ? 'NIGHTSHIFT_HEARTBEAT_URL' : 'NIGHTSHIFT_URL'} is not an http(s) URL`);
  }
  const token = env.NIGHTSHIFT_RUN_TOKEN ?? '';
  if (token === '' && !url.searchParams.get('token')) return null;
  return { runId, url, token, shown: `${url.origin}${url.pathname}` };
}

async function send(target: Target, note: string | undefined): Promise<void> {
  const { request } = target.url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const body = note === undefined ? '' : JSON.stringify({ note });
  const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) };
  if (target.token !== '') headers.authorization = `Bearer ${target.token}`;
  if (body !== '') headers['content-type'] = 'application/json';
  const signal = AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS);
  let answer: { status: number; text: string };
  try {
    answer = await new Promise((resolve, reject) => {
      // agent: false, so no kept-alive socket outlives the answer.
      const req = request(target.url, { method: 'POST', headers, signal, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  } catch (error) {
    const why = signal.aborted ? `no answer within ${HEARTBEAT_TIMEOUT_MS / 1000}s` : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
    throw new CliError(`could not reach the daemon at ${target.shown} (${why}); the heartbeat was not recorded`, EXIT_FAILED);
  }
  if (answer.status >= 200 && answer.status < 300) return;
  if (answer.status === 409) {
    throw new CliError(`the daemon says this run is not running (run ${target.runId}); a heartbeat only counts while its run runs`, EXIT_FAILED);
  }
  throw new CliError(`the daemon refused the heartbeat (HTTP ${answer.status}: ${errorMessage(answer.text)})`, EXIT_FAILED);
}

function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text.trim();
  } catch {
    return text.trim();
  }
}
