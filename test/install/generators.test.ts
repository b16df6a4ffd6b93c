/**
 * The pure parts of `install`: quoting paths for a unit file (spaces, `%` specifiers, `$` in Exec lines) checked by
 * `systemd-analyze verify` on a real file, and finding the `${VAR}`s a config reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { referencedVariables, withPlaceholders } from '../../src/install/config-env.ts';
import { renderSystemdUnit } from '../../src/install/systemd-unit.ts';
import { execArg, unitNameFor } from '../../src/install/unit-syntax.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('unit file quoting', () => {
  it('quotes blanks, doubles % and $, and names units systemd accepts', () => {
    expect(execArg('/opt/plain/main.js')).toBe('/opt/plain/main.js');
    expect(execArg('/opt/my app/100%/$HOME')).toBe('"/opt/my app/100%%/$$HOME"');
    expect(unitNameFor('seo scanner/v2')).toBe('nightshift-seo-scanner-v2');
  });

  it('a project under a path with a space and a % verifies', () => {
    const root = mkdtempSync(join(tmpdir(), 'nightshift-unit-'));
    dirs.push(root);
    const dir = join(root, 'my app 100%');
    mkdirSync(dir);
    const { name, text } = renderSystemdUnit({
      project: 'my app',
      configPath: join(dir, 'nightshift.yaml'),
      configDir: dir,
      stateDir: join(dir, '.nightshift'),
      nodePath: process.execPath,
      cliPath: join(dir, 'dist', 'cli', 'main.js'),
      user: null,
      jobs: [{ name: 'a', cwd: dir, user: 'daemon', memoryBytes: 64 * 1024 * 1024, killGraceMs: 10_000 }],
      shutdownGraceMs: 30_000,
      variables: ['TOKEN'],
      envFile: '/etc/nightshift/nightshift-my-app.env',
      notifyAccess: 'all',
      networkStore: true,
      version: 'test',
    });
    expect(name).toBe('nightshift-my-app.service');
    const lines = text.split('\n');
    expect(lines).toContain(`ExecStart=${process.execPath} --max-old-space-size=256 "${dir.replace('%', '%%')}/dist/cli/main.js" up -c "${dir.replace('%', '%%')}/nightshift.yaml"`);
    expect(lines).toContain('MemoryMax=576M');
    expect(lines).toContain('NotifyAccess=all');
    expect(lines).toContain('After=network-online.target');
    expect(lines).toContain('# Jobs a have user:, which needs the daemon to run as root.');
    const path = join(root, name);
    writeFileSync(path, text);
    const verified = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
  });
});

describe('the ${VAR}s a config reads', () => {
  it('finds each once, skips $${…}, and a use without a default makes it required', () => {
    const text = 'a: ${TOKEN}\nb: "$${SHELL_ONLY}"\nc: ${PORT:-8377}\nd: ${MODE:-x} ${MODE}\ne: ${TOKEN}\n';
    expect(referencedVariables(text)).toEqual([
      { name: 'TOKEN', hasDefault: false },
      { name: 'PORT', hasDefault: true },
      { name: 'MODE', hasDefault: false },
    ]);
    const { env, unset } = withPlaceholders({ TOKEN: 't' }, referencedVariables(text));
    expect(unset).toEqual(['MODE']);
    expect(env).toEqual({ TOKEN: 't', MODE: '' });
  });
});
