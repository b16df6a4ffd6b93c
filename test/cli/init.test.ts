/**
 * `nightshift init [DIR]`: a commented config that validates, a private state directory, a .gitignore line — and
 * never an overwrite (exit 2, naming the file, nothing changed).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, makeTempDir, runCli } from './helpers.ts';

afterEach(cleanupAll);

describe('nightshift init', () => {
  it('creates DIR/nightshift.yaml (which validates), DIR/.nightshift with mode 0700 and a .gitignore line', async () => {
    const root = makeTempDir();
    const dir = join(root, 'new', 'project');
    const result = await runCli(['init', dir], { cwd: root });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `created ${dir}/nightshift.yaml and ${dir}/.nightshift/ (mode 0700)\nnext: nightshift validate && nightshift up\n`,
    );
    expect(statSync(join(dir, '.nightshift')).isDirectory()).toBe(true);
    expect(statSync(join(dir, '.nightshift')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('.nightshift/\n');

    const validate = await runCli(['validate', '-c', join(dir, 'nightshift.yaml')], { cwd: root });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(new RegExp(`^${dir}/nightshift.yaml: ok \\(\\d+ jobs?, \\d+ checks?\\)\n$`));
  });

  it('a second init refuses with exit 2 and leaves the config byte-identical and the .gitignore line single', async () => {
    const dir = makeTempDir();
    expect((await runCli(['init', dir])).code).toBe(0);
    const config = join(dir, 'nightshift.yaml');
    // The user's edits must survive a second init.
    writeFileSync(config, `${readFileSync(config, 'utf8')}# edited by hand\n`);
    const before = readFileSync(config);
    const again = await runCli(['init', dir]);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`nightshift: ${config} already exists; nothing was changed (edit it, or remove it to start over)\n`);
    expect(readFileSync(config).equals(before)).toBe(true);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('.nightshift/\n');
  });

  it('without DIR works in the current directory; an existing .gitignore is appended to once, on its own line', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, '.gitignore'), 'node_modules');
    expect((await runCli(['init'], { cwd: dir })).code).toBe(0);
    expect(statSync(join(dir, 'nightshift.yaml')).isFile()).toBe(true);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules\n.nightshift/\n');

    // A .gitignore that already has the line (the config removed to start over) is left alone.
    const other = join(dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, '.gitignore'), 'dist/\n.nightshift/\n');
    expect((await runCli(['init', 'other'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(other, '.gitignore'), 'utf8')).toBe('dist/\n.nightshift/\n');
  });

  it('refuses next to a nightshift.yml too (the new file would shadow it), and creates nothing', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'nightshift.yml'), 'project: old\n');
    const result = await runCli(['init', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`nightshift: ${join(dir, 'nightshift.yml')} already exists; nothing was changed (edit it, or remove it to start over)\n`);
    expect(readdirSync(dir)).toEqual(['nightshift.yml']);
  });

  it('tightens an existing state directory to 0700 and keeps a .gitignore that already ignores it in another spelling', async () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, '.nightshift'), { mode: 0o755 });
    chmodSync(join(dir, '.nightshift'), 0o755);
    writeFileSync(join(dir, '.gitignore'), 'dist\r\n/.nightshift\r\n');
    expect((await runCli(['init', dir])).code).toBe(0);
    expect(statSync(join(dir, '.nightshift')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('dist\r\n/.nightshift\r\n');
  });

  it('a DIR that is a file is a usage error that names it', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    const result = await runCli(['init', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`nightshift: ${file} is not a directory; give init a directory to create nightshift.yaml in\n`);
    expect(existsSync(join(dir, '.gitignore'))).toBe(false);
  });
});
