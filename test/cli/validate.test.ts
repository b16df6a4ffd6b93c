/**
 * `nightshift validate`, how the config file is found (-c before or after the command, NIGHTSHIFT_CONFIG), and the
 * usage errors every command shares: the real CLI as a process.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_VERSION, cleanupAll, makeProject, makeTempDir, runCli } from './helpers.ts';

afterEach(cleanupAll);

const GOOD = `
jobs:
  scan:
    command: echo scan
    schedule: "*/5 * * * *"
  report:
    command: [sh, -c, "echo report"]
checks:
  backup: { every: 1d, grace: 1h }
  offsite: { schedule: "0 3 * * *" }
`;

// Written without the project header, so line 4 col 14 is the value of timeout and line 5 col 5 the misspelt key.
const BAD = `jobs:
  scan:
    command: echo scan
    timeout: 10 minutes
    timout: 5m
`;

/** GOOD declares checks, which this version validates but does not watch yet: validate says so on stderr. */
const GAPS = '';

function badLines(path: string): string[] {
  return [
    `${path}:4:14: jobs.scan.timeout: '10 minutes' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)`,
    `${path}:5:5: jobs.scan.timout: unknown key 'timout'; did you mean 'timeout'?`,
  ];
}

describe('nightshift validate', () => {
  it('warns, without failing, about settings it accepts but does not act on yet', async () => {
    const p = await makeProject(`
jobs:
  scan:
    command: echo scan
    memory: 512M
    heartbeat: 5m
    after: { job: fetch, max_age: 2h }
  fetch:
    command: echo fetch
    node: vps-1
`);
    const result = await p.cli(['validate']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('nightshift: warning: accepted but not enforced by this version yet: jobs.fetch.node\n');
  });

  it('a good config: exit 0 and one "<file>: ok (N jobs, M checks)" line', async () => {
    const p = await makeProject(GOOD);
    const result = await p.cli(['validate']);
    expect(result).toEqual({ code: 0, stdout: `${p.configPath}: ok (2 jobs, 2 checks)\n`, stderr: GAPS });
  });

  it('a bad config: exit 2 and every problem as file:line:col: path: problem; fix on stderr', async () => {
    const p = await makeProject(BAD, { header: false });
    const result = await p.cli(['validate']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    // Both problems are reported in one go, each on its own line, as they are: file:line:col first.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual(badLines(p.configPath));
  });

  it('every stderr line of a bad config starts with the file:line:col (no prefix on the first one)', async () => {
    const p = await makeProject(BAD, { header: false });
    const result = await p.cli(['validate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(badLines(p.configPath).join('\n') + '\n');
  });

  it('a missing file named by -c: exit 2, naming the file', async () => {
    const dir = makeTempDir();
    const result = await runCli(['validate', '-c', 'nope.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${join(dir, 'nope.yaml')}: no such file (named by -c)`);
  });

  it('no config in the working directory: exit 2, naming where it looked and how to create one', async () => {
    const dir = makeTempDir();
    const result = await runCli(['validate'], { cwd: dir, env: { NIGHTSHIFT_CONFIG: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'nightshift.yaml')}: no nightshift.yaml in ${dir}`);
    expect(result.stderr).toContain('nightshift init');
  });

  it('-c works before and after the command name, and relative to the working directory', async () => {
    const p = await makeProject(GOOD);
    const elsewhere = makeTempDir();
    const expected = `${p.configPath}: ok (2 jobs, 2 checks)\n`;
    const before = await runCli(['-c', p.configPath, 'validate'], { cwd: elsewhere });
    const after = await runCli(['validate', '-c', p.configPath], { cwd: elsewhere });
    const relative = await runCli(['validate', '--config', 'nightshift.yaml'], { cwd: p.dir });
    for (const result of [before, after, relative]) expect(result).toEqual({ code: 0, stdout: expected, stderr: GAPS });
  });

  it('NIGHTSHIFT_CONFIG names the file; -c wins over it; a missing one is an error naming it', async () => {
    const good = await makeProject(GOOD);
    const bad = await makeProject(BAD, { header: false });
    const elsewhere = makeTempDir();
    const viaEnv = await runCli(['validate'], { cwd: elsewhere, env: { NIGHTSHIFT_CONFIG: good.configPath } });
    expect(viaEnv).toEqual({ code: 0, stdout: `${good.configPath}: ok (2 jobs, 2 checks)\n`, stderr: GAPS });

    const flagWins = await runCli(['validate', '-c', good.configPath], { cwd: elsewhere, env: { NIGHTSHIFT_CONFIG: bad.configPath } });
    expect(flagWins.code).toBe(0);

    const missing = await runCli(['validate'], { cwd: elsewhere, env: { NIGHTSHIFT_CONFIG: join(elsewhere, 'gone.yaml') } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(elsewhere, 'gone.yaml')}: no such file (named by NIGHTSHIFT_CONFIG)`);
  });

  it('any command that loads a bad config exits 2 with the same lines', async () => {
    const p = await makeProject(BAD, { header: false });
    for (const args of [['status'], ['exec', '--job', 'scan', '--', 'true']]) {
      const result = await p.cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(badLines(p.configPath)[1]);
    }
  });
});

describe('usage', () => {
  it('an unknown command: exit 2, with a hint', async () => {
    const result = await runCli(['statsu']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'statsu'");
    expect(result.stderr).toContain('nightshift --help');
  });

  it('an unknown flag, a missing argument or a missing required option: exit 2', async () => {
    const dir = makeTempDir();
    const flag = await runCli(['status', '--bogus'], { cwd: dir });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--bogus'");
    const argument = await runCli(['run'], { cwd: dir });
    expect(argument.code).toBe(2);
    expect(argument.stderr).toContain("missing required argument 'job'");
    const option = await runCli(['exec', '--', 'true'], { cwd: dir });
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("required option '--job <name>' not specified");
  });

  it('--help and --version: exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: nightshift [options] [command]');
    for (const command of ['init', 'validate', 'up', 'status', 'run', 'logs', 'history', 'pause', 'resume', 'exec']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    const commandHelp = await runCli(['exec', '--help']);
    expect(commandHelp.code).toBe(0);
    expect(commandHelp.stdout).toContain('--lock');
    const version = await runCli(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
  });
});
