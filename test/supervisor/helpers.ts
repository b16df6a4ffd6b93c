/** Shared by the containment tests: the CLI as a job would call it, reading state through the API. */
import { CLI } from '../helpers/cli.ts';
import type { TestDaemon } from '../daemon/harness.ts';
import type { StatusJson } from '../../src/status/build-status.ts';

/** `nightshift …` as a command line inside a job's shell (the CLI is not on the PATH in tests). */
export const NS = `'${process.execPath}' '${CLI}'`;

export async function statusOf(t: TestDaemon): Promise<StatusJson> {
  return (await (await fetch(`${t.url}/api/v1/status`)).json()) as StatusJson;
}

export async function jobStatus(t: TestDaemon, name: string) {
  const job = (await statusOf(t)).jobs.find((j) => j.name === name);
  if (!job) throw new Error(`no job ${name} in status`);
  return job;
}

export async function post(t: TestDaemon, path: string): Promise<Response> {
  return fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.daemon.apiToken()}` } });
}
