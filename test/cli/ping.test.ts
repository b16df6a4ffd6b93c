/**
 * `nightshift ping CHECK [KIND] [--rid ID]` and `nightshift pings CHECK [--json] [--limit N]` against a real daemon
 * (`nightshift up`): every kind, start/end pairing by rid, stdin as the body (cut to http.ping_body_limit), and the
 * errors: an unknown check or kind (exit 2) and no daemon (exit 1, the ping needs it). `pings` also reads the store.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ping } from '../../src/store/types.ts';
import { CLI } from '../helpers/cli.ts';
import {
  ISO_UTC,
  cleanupAll,
  freePort,
  makeProject,
  onCleanup,
  parseJson,
  startDaemon,
  stopProcess,
  type CliResult,
  type Project,
} from './helpers.ts';

afterEach(cleanupAll);

const DAEMON_TEST_TIMEOUT_MS = 90_000;
const PING_KEYS = ['kind', 'exit_code', 'rid', 'body', 'created_at', 'duration_ms'];
const RID = '3b1e4b0c-1d2e-4f5a-8b9c-0d1e2f3a4b5c';
const BODY_LIMIT = 64;

/** A project with one outside check, a small ping body limit, and its own port. */
async function checkProject(): Promise<Project> {
  const port = await freePort();
  return makeProject(
    `project: cli-test
http: { listen: "127.0.0.1:${port}", ping_body_limit: ${BODY_LIMIT} }
shutdown_grace: 500ms
checks:
  backup: { every: 1h, grace: 1h }
  reports: { every: 1d }
`,
    { header: false },
  ).then((p) => ({ ...p, port }));
}

/** The CLI with `input` written to its stdin (a pipe); also says whether writing it failed (EPIPE: we were cut off). */
async function cliWithStdin(p: Project, args: string[], input: string): Promise<CliResult & { writeError: Error | null }> {
  const child = spawn(process.execPath, [CLI, args[0]!, '-c', p.configPath, ...args.slice(1)], {
    cwd: p.dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  onCleanup(() => stopProcess(child));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let writeError: Error | null = null;
  child.stdin.on('error', (error) => (writeError = error));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, stdout, stderr, writeError };
}

async function pings(p: Project, args: string[] = []): Promise<Ping[]> {
  const result = await p.cli(['pings', 'backup', '--json', ...args]);
  if (result.code !== 0) throw new Error(`pings failed (${result.code}): ${result.stderr}`);
  return parseJson<Ping[]>(result);
}

describe('nightshift ping and pings with a daemon', () => {
  it('sends every kind; start and end pair by rid; stdin is the body, cut to the limit; pings lists them newest first', async () => {
    const p = await checkProject();
    const daemon = await startDaemon(p);
    expect(await p.cli(['pings', 'backup'])).toEqual({ code: 0, stdout: 'no pings of backup yet\n', stderr: '' });

    const ok = { code: 0, stdout: '', stderr: '' };
    expect(await p.cli(['ping', 'backup', 'start', '--rid', RID])).toEqual(ok);
    // More than the limit and more than a pipe holds: the rest is read and dropped, so the writer is never cut off.
    const long = `all good\n${'x'.repeat(200_000)}`;
    expect(await cliWithStdin(p, ['ping', 'backup', '--rid', RID], long)).toEqual({ ...ok, writeError: null });
    expect(await p.cli(['ping', 'backup', 'fail'])).toEqual(ok);
    expect(await p.cli(['ping', 'backup', '0'])).toEqual(ok);
    expect(await p.cli(['ping', 'backup', '7'])).toEqual(ok);
    expect(await cliWithStdin(p, ['ping', 'backup', 'log'], 'half way\n')).toEqual({ ...ok, writeError: null });

    const list = await pings(p);
    for (const ping of list) {
      expect(Object.keys(ping).sort()).toEqual([...PING_KEYS].sort());
      expect(ping.created_at).toMatch(ISO_UTC);
    }
    expect(list.map((ping) => [ping.kind, ping.exit_code])).toEqual([
      ['log', null],
      ['exit', 7],
      ['exit', 0],
      ['fail', null],
      ['success', null],
      ['start', null],
    ]);
    const [log, , , , success, start] = list;
    expect(log!.body).toBe('half way\n');
    expect(start).toMatchObject({ rid: RID, body: null, duration_ms: null });
    expect(success).toMatchObject({ rid: RID, body: long.slice(0, BODY_LIMIT) });
    expect(success!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(success!.duration_ms).toBe(Date.parse(success!.created_at) - Date.parse(start!.created_at));
    // Exactly the API's array; --limit takes the newest.
    expect(list).toEqual(await (await fetch(`${daemon.url}/api/v1/checks/backup/pings`)).json());
    expect(await pings(p, ['--limit', '2'])).toEqual(list.slice(0, 2));

    const table = await p.cli(['pings', 'backup']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^WHEN +KIND +DURATION +BODY$/);
    expect(lines[1]).toMatch(/^\S+ ago +log +- +half way$/);
    expect(lines[2]).toMatch(/^\S+ ago +exit 7 +- +-$/);
    expect(lines[5]).toMatch(/^\S+ ago +success +\S+ +all good…$/);
    expect(table.stdout).not.toContain('\u001b[');

    // An unknown check is a usage error listing the checks; so is a bad kind or rid, before anything is sent.
    expect(await p.cli(['ping', 'bakup'])).toEqual({ code: 2, stdout: '', stderr: "nightshift: no check named 'bakup' (checks: backup, reports)\n" });
    expect(await p.cli(['pings', 'bakup'])).toEqual({ code: 2, stdout: '', stderr: "nightshift: no check named 'bakup' (checks: backup, reports)\n" });

    // Without the daemon, pings reads the store; a ping is refused, since the daemon must act on it.
    await daemon.stop();
    expect(await pings(p)).toEqual(list);
    const refused = await p.cli(['ping', 'backup']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `nightshift: the daemon is not running (nothing answers on 127.0.0.1:${p.port}), so the ping to backup was not recorded: ` +
        'pings need the daemon to act on them; start it with `nightshift up`\n',
    );
    expect(await pings(p)).toEqual(list);
  }, DAEMON_TEST_TIMEOUT_MS);
});

describe('nightshift ping and pings without a daemon', () => {
  it('refuses a ping with exit 1; an unknown check, kind or rid is exit 2; pings of a configured check is empty', async () => {
    const p = await checkProject();
    const refused = await p.cli(['ping', 'reports', 'start']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the daemon is not running');
    expect(await p.cli(['ping', 'nope'])).toEqual({ code: 2, stdout: '', stderr: "nightshift: no check named 'nope' (checks: backup, reports)\n" });
    for (const kind of ['bogus', '256', '1.5', 'exit']) {
      expect(await p.cli(['ping', 'backup', kind])).toEqual({
        code: 2,
        stdout: '',
        stderr: `nightshift: KIND must be start, success, fail, log or an exit code from 0 to 255; got '${kind}'\n`,
      });
    }
    expect(await p.cli(['ping', 'backup', '--rid', '12345'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "nightshift: --rid must be a UUID (e.g. from uuidgen); got '12345'\n",
    });
    expect(await p.cli(['pings', 'backup'])).toEqual({ code: 0, stdout: 'no pings of backup yet\n', stderr: '' });
    expect(await p.cli(['pings', 'backup', '--json'])).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    expect(await p.cli(['pings', 'nope'])).toEqual({ code: 2, stdout: '', stderr: "nightshift: no check named 'nope' (checks: backup, reports)\n" });
    expect((await p.cli(['pings', 'backup', '--limit', 'abc'])).code).toBe(2);
  });
});
