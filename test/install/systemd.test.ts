/**
 * `nightshift install systemd` through the built CLI: the unit it prints for a config (watchdog, restart, memory cap
 * from the config's jobs, sandbox, absolute ExecStart, EnvironmentFile for the config's ${VAR}s), that `--print`
 * writes nothing, that a written unit passes `systemd-analyze verify`, that it never clobbers an edited unit without
 * --force, and that bad flags are one-line usage errors. It never runs systemctl.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.ts';
import { cleanupAll, makeTempDir, runCli } from '../cli/helpers.ts';
import { SYSTEMD_UNIT } from '../../src/config/defaults.ts';
import { parseDuration } from '../../src/config/units.ts';

afterEach(cleanupAll);

const WATCHDOG_SEC = parseDuration(SYSTEMD_UNIT.watchdog_sec) / 1000;

function project(): { dir: string; configPath: string; stateDir: string } {
  const dir = makeTempDir('nightshift-install-');
  mkdirSync(join(dir, 'work'));
  const configPath = join(dir, 'nightshift.yaml');
  writeFileSync(
    configPath,
    [
      'project: seo-scanner',
      'http: { listen: "127.0.0.1:8377", token: "${NS_INSTALL_TOKEN}" }',
      'shutdown_grace: 30s',
      'jobs:',
      '  scan: { command: "echo scanning", schedule: "0 * * * *", cwd: work, memory: 512M, kill_grace: 20s }',
      '  chat: { command: [sleep, "1000"], restart: always, memory: 256M }',
      '',
    ].join('\n'),
  );
  return { dir, configPath, stateDir: join(dir, '.nightshift') };
}

function verify(unitPath: string): { status: number | null; stderr: string } {
  const result = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

describe('nightshift install systemd', () => {
  it('--print shows the unit for this config and writes nothing', async () => {
    const { dir, configPath, stateDir } = project();
    const result = await runCli(['install', 'systemd', '--print', '-c', configPath], { cwd: dir, env: { NS_INSTALL_TOKEN: '' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        '[Unit]',
        'After=network.target',
        '[Service]',
        'Type=notify',
        'NotifyAccess=main',
        `WatchdogSec=${WATCHDOG_SEC}s`,
        'Restart=always',
        `ExecStart=${process.execPath} --max-old-space-size=256 ${CLI} up -c ${configPath}`,
        'ExecReload=/bin/kill -HUP $MAINPID',
        `WorkingDirectory=${dir}`,
        '# The config reads ${NS_INSTALL_TOKEN}: set them as VAR=value lines in /etc/nightshift/nightshift-seo-scanner.env (mode 0600).',
        'EnvironmentFile=-/etc/nightshift/nightshift-seo-scanner.env',
        'KillMode=mixed',
        // shutdown_grace 30s + the largest kill_grace 20s + 30s
        'TimeoutStopSec=80s',
        // the daemon's 512M + scan's 512M + chat's 256M: the runs live in the unit's cgroup
        'MemoryMax=1280M',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        `ReadWritePaths=${stateDir} -${join(dir, 'work')} -${dir}`,
        'PrivateTmp=yes',
        '[Install]',
        'WantedBy=multi-user.target',
      ]),
    );
    expect(lines.some((line) => line.startsWith('User='))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['nightshift.yaml', 'work']);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('writes a unit that systemd-analyze verify accepts, prints the next commands, and never clobbers an edited unit', async () => {
    const { dir, configPath, stateDir } = project();
    const unitPath = join(dir, 'units', 'nightshift-seo-scanner.service');
    const args = ['install', 'systemd', '-c', configPath, '--user', 'daemon', '--output', unitPath];
    const first = await runCli(args, { cwd: dir, env: { NS_INSTALL_TOKEN: undefined } });
    expect(first.code).toBe(0);
    // The token is not set in this shell: the user is told where it goes.
    expect(first.stderr).toBe(
      'nightshift: warning: the config reads ${NS_INSTALL_TOKEN}, not set here; put NS_INSTALL_TOKEN=… in ' +
        '/etc/nightshift/nightshift-seo-scanner.env (mode 0600) before starting the unit\n',
    );
    expect(first.stdout).toBe(
      [
        `wrote ${unitPath}`,
        'next:',
        `  chown -R daemon: ${stateDir}`,
        `  systemctl link ${unitPath}`,
        '  systemctl daemon-reload && systemctl enable --now nightshift-seo-scanner.service',
        '  systemctl status nightshift-seo-scanner.service    # Active: active (running), Status: "running 2 jobs; …"',
        '',
      ].join('\n'),
    );
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit.split('\n')).toContain('User=daemon');
    expect(statSync(unitPath).mode & 0o777).toBe(0o644);
    // ProtectSystem=strict can only open up a directory that exists: install made it, private.
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    const verified = verify(unitPath);
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);

    const again = await runCli(args, { cwd: dir, env: { NS_INSTALL_TOKEN: 'x' } });
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe(`${unitPath} is already up to date`);

    writeFileSync(unitPath, `${unit}# edited by hand\n`);
    const refused = await runCli(args, { cwd: dir, env: { NS_INSTALL_TOKEN: 'x' } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`nightshift: ${unitPath} already exists with other content; compare with --print, then add --force to replace it\n`);
    expect(readFileSync(unitPath, 'utf8')).toBe(`${unit}# edited by hand\n`);

    const forced = await runCli([...args, '--force'], { cwd: dir, env: { NS_INSTALL_TOKEN: 'x' } });
    expect(forced.code).toBe(0);
    expect(forced.stdout.split('\n')[0]).toBe(`updated ${unitPath}`);
    expect(readFileSync(unitPath, 'utf8')).toBe(unit);
  });

  it("the config `nightshift init` writes gives a unit that verifies; jobs without memory: cap the unit at a share of RAM", async () => {
    const dir = makeTempDir('nightshift-install-');
    expect((await runCli(['init', dir])).code).toBe(0);
    const unitPath = join(dir, 'nightshift-my-pipeline.service');
    const result = await runCli(['install', 'systemd', '--output', unitPath], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = readFileSync(unitPath, 'utf8').split('\n');
    expect(lines).toContain(`MemoryMax=${SYSTEMD_UNIT.memory_max_unbounded}`);
    expect(lines).toContain(`ExecStart=${process.execPath} --max-old-space-size=256 ${CLI} up -c ${join(dir, 'nightshift.yaml')}`);
    const verified = verify(unitPath);
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
  });

  it('warns that jobs with user: need a root daemon when --user is given', async () => {
    const dir = makeTempDir('nightshift-install-');
    writeFileSync(join(dir, 'nightshift.yaml'), 'project: p\njobs:\n  a: { command: "true", user: daemon }\n  b: { command: "true" }\n');
    const result = await runCli(['install', 'systemd', '--print', '--user', 'daemon'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('nightshift: warning: jobs a have user:, which needs the daemon to run as root; without --user they work, with it they fail to start\n');
    expect(result.stdout).toContain('# Jobs a have user:, which needs the daemon to run as root: remove User= or those runs fail to start.\n');
  });

  it('bad targets and flags are one-line usage errors (exit 2)', async () => {
    const dir = makeTempDir('nightshift-install-');
    writeFileSync(join(dir, 'nightshift.yaml'), 'project: p\njobs: {}\n');
    const cases: Array<[string[], string]> = [
      [['install'], 'nightshift: name what to install: nightshift install systemd|logrotate\n'],
      [['install', 'nginx'], "nightshift: unknown install target 'nginx': nightshift install systemd|logrotate\n"],
      [['install', 'systemd', '--user', 'two words'], "nightshift: --user 'two words' is not a user name; give an existing user such as --user nightshift\n"],
      [['install', 'systemd', '--output', ''], 'nightshift: --output needs a file path, e.g. --output ./nightshift.service\n'],
    ];
    for (const [args, stderr] of cases) {
      const result = await runCli(args, { cwd: dir });
      expect({ args, code: result.code, stderr: result.stderr, stdout: result.stdout }).toEqual({ args, code: 2, stderr, stdout: '' });
    }
    const noConfig = await runCli(['install', 'systemd', '--print'], { cwd: makeTempDir('nightshift-install-') });
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toMatch(/no nightshift\.yaml in .*; create one with `nightshift init` or pass -c FILE\n$/);
  });
});
