/**
 * `nightshift heartbeat [NOTE]`: from inside a real job of a real daemon (`nightshift up`) it lands on the run as
 * `heartbeat_at`; outside a run it is a usage error; a run that is not running, a refused token and an unreachable
 * daemon are exit 1, and no message shows the run's token. It reads nothing but the environment: the config, the
 * store and zod are never loaded (it runs inside jobs every few seconds).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Run } from '../../src/store/types.ts';
import { CLI } from '../helpers/cli.ts';
import {
  ISO_UTC,
  cleanupAll,
  freePort,
  makeProject,
  makeTempDir,
  onCleanup,
  parseJson,
  runCli,
  startDaemon,
  stopProcess,
  type CliResult,
} from './helpers.ts';

afterEach(cleanupAll);

const DAEMON_TEST_TIMEOUT_MS = 60_000;
const RUN_ID = '01M94PN2MJA6TR9KX2YG8F1DKR';
/** An environment with none of a run's variables, whatever the test runner itself runs under. */
const NO_RUN = {
  NIGHTSHIFT_RUN_ID: undefined,
  NIGHTSHIFT_URL: undefined,
  NIGHTSHIFT_HEARTBEAT_URL: undefined,
  NIGHTSHIFT_RUN_TOKEN: undefined,
  NIGHTSHIFT_JOB: undefined,
};
const OUTSIDE_A_RUN =
  'nightshift: heartbeat only works inside a run started by nightshift (NIGHTSHIFT_RUN_ID is not set); a job calls it while it runs\n';

function heartbeat(env: NodeJS.ProcessEnv, args: string[] = []): Promise<CliResult> {
  return runCli(['heartbeat', ...args], { env: { ...NO_RUN, ...env } });
}

describe('nightshift heartbeat', () => {
  it('from inside a job it is recorded on the run; for a run no longer running it is exit 1', async () => {
    const beat = `'${process.execPath}' '${CLI}' heartbeat`;
    const p = await makeProject(`
jobs:
  beat: { command: "${beat} 'step 1' && ${beat} && echo beat-ok" }
`);
    await startDaemon(p);
    const started = await p.cli(['run', 'beat', '--wait', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const [run] = parseJson<Run[]>(await p.cli(['history', 'beat', '--json', '--limit', '1']));
    expect(run).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(run!.heartbeat_at).toMatch(ISO_UTC);
    expect(Date.parse(run!.heartbeat_at!)).toBeGreaterThanOrEqual(Date.parse(run!.started_at!));
    expect(Date.parse(run!.heartbeat_at!)).toBeLessThanOrEqual(Date.parse(run!.ended_at!));
    // The note is kept in the run's log, where it reads as nightshift's own line.
    expect((await p.cli(['logs', 'beat'])).stdout).toBe('[nightshift] heartbeat: step 1\nbeat-ok\n');

    // The run has ended: the daemon answers 409 (the API token may act as any run).
    const apiToken = readFileSync(join(p.stateDir, 'api-token'), 'utf8').trim();
    const env = { NIGHTSHIFT_RUN_ID: run!.id, NIGHTSHIFT_URL: `http://127.0.0.1:${p.port}`, NIGHTSHIFT_RUN_TOKEN: apiToken };
    expect(await heartbeat(env)).toEqual({
      code: 1,
      stdout: '',
      stderr: `nightshift: the daemon says this run is not running (run ${run!.id}); the heartbeat only counts while its run runs\n`,
    });
    // Another run's token, in the query as NIGHTSHIFT_HEARTBEAT_URL carries it: refused, and not shown.
    const url = `http://127.0.0.1:${p.port}/api/v1/runs/${run!.id}/heartbeat`;
    const refused = await heartbeat({ NIGHTSHIFT_RUN_ID: run!.id, NIGHTSHIFT_HEARTBEAT_URL: `${url}?token=not-this-runs-token` });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^nightshift: the daemon refused the heartbeat \(HTTP 401: .*token.*\)\n$/);
    expect(refused.stderr).not.toContain('not-this-runs-token');
  }, DAEMON_TEST_TIMEOUT_MS);

  it('outside a run it is exit 2, whatever -c names: it reads no config', async () => {
    expect(await heartbeat({})).toEqual({ code: 2, stdout: '', stderr: OUTSIDE_A_RUN });
    expect(await heartbeat({}, ['-c', '/nonexistent/nightshift.yaml'])).toEqual({ code: 2, stdout: '', stderr: OUTSIDE_A_RUN });
  });

  it('an unreachable daemon is exit 1 naming the URL tried, without the token', async () => {
    const port = await freePort();
    const built = await heartbeat({ NIGHTSHIFT_RUN_ID: RUN_ID, NIGHTSHIFT_URL: `http://127.0.0.1:${port}/`, NIGHTSHIFT_RUN_TOKEN: 'sekrit' });
    const tried = `http://127.0.0.1:${port}/api/v1/runs/${RUN_ID}/heartbeat`;
    expect(built).toEqual({
      code: 1,
      stdout: '',
      stderr: `nightshift: could not reach the daemon at ${tried} (ECONNREFUSED); the heartbeat was not recorded\n`,
    });
    const given = await heartbeat({ NIGHTSHIFT_RUN_ID: RUN_ID, NIGHTSHIFT_HEARTBEAT_URL: `${tried}?token=sekrit`, NIGHTSHIFT_RUN_TOKEN: 'sekrit' });
    expect(given).toEqual(built);
  });

  it('in a run of `nightshift exec` (no token, no daemon watching) it says so and exits 0', async () => {
    const p = await makeProject('jobs: {}\n');
    const result = await p.cli(['exec', '--job', 'wrapped', '--', process.execPath, CLI, 'heartbeat'], { env: NO_RUN });
    expect(result).toEqual({
      code: 0,
      stdout: '',
      stderr:
        'nightshift: this run was started by `nightshift exec`, which no daemon watches and which gets no run token; the heartbeat was not sent\n',
    });
  });

  it('loads no config, store or zod module', async () => {
    const dir = makeTempDir();
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(hooks, 'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(`LOADED ${r.url}\\n`); return r; }\n');
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const port = await freePort();
    const env = { ...process.env, ...NO_RUN, NIGHTSHIFT_RUN_ID: RUN_ID, NIGHTSHIFT_URL: `http://127.0.0.1:${port}`, NIGHTSHIFT_RUN_TOKEN: 't' };
    const child = spawn(process.execPath, ['--import', register, CLI, 'heartbeat'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    onCleanup(() => stopProcess(child));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    const loaded = stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length));
    expect(loaded).toContainEqual(expect.stringMatching(/dist\/cli\/commands\/heartbeat\.js$/));
    expect(loaded.filter((url) => /node_modules\/(zod|yaml|better-sqlite3|croner|pino)\/|dist\/(config|store|daemon|status|watch)\//.test(url))).toEqual([]);
  });
});
