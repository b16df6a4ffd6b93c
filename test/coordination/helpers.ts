/** Shared pieces of the coordination tests: the TypeScript fixtures run as real job processes, and API calls. */
import { fileURLToPath } from 'node:url';
import type { TestDaemon } from '../daemon/harness.ts';

const REGISTER_TS = fileURLToPath(new URL('../store/helpers/register-ts.mjs', import.meta.url));

/** A job command (YAML flow list) running `fixtures/<name>.ts` under node with the TypeScript loader. */
export function fixtureCommand(name: string, ...args: string[]): string {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  return JSON.stringify([process.execPath, '--import', REGISTER_TS, script, ...args]);
}

/** One request to the daemon's API; `token: 'api'` sends the daemon's API token. */
export async function api(
  t: TestDaemon,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | 'api' | null } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = options.token === undefined || options.token === 'api' ? t.daemon.apiToken() : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${t.url}/api/v1${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}
