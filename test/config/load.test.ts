import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrors, findConfigPath, loadConfig } from '../../src/config/index.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nightshift-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (ConfigErrors.is(error)) return error.format();
    throw error;
  }
  throw new Error('expected ConfigErrors');
}

describe('findConfigPath', () => {
  it('prefers -c, then NIGHTSHIFT_CONFIG, then nightshift.yaml, then nightshift.yml', () => {
    for (const name of ['explicit.yaml', 'from-env.yaml', 'nightshift.yaml', 'nightshift.yml']) writeFileSync(join(dir, name), 'project: x\n');
    const env = { NIGHTSHIFT_CONFIG: 'from-env.yaml' };
    expect(findConfigPath({ explicit: 'explicit.yaml', env, cwd: dir })).toBe(join(dir, 'explicit.yaml'));
    expect(findConfigPath({ env, cwd: dir })).toBe(join(dir, 'from-env.yaml'));
    expect(findConfigPath({ env: {}, cwd: dir })).toBe(join(dir, 'nightshift.yaml'));
    rmSync(join(dir, 'nightshift.yaml'));
    expect(findConfigPath({ env: {}, cwd: dir })).toBe(join(dir, 'nightshift.yml'));
  });

  it('says how to create a config when there is none', () => {
    expect(messageOf(() => findConfigPath({ env: {}, cwd: dir }))).toBe(
      `${join(dir, 'nightshift.yaml')}: no nightshift.yaml in ${dir}; create one with \`nightshift init\` or pass -c FILE`,
    );
  });

  it('names the flag or variable that pointed at a missing file', () => {
    expect(messageOf(() => findConfigPath({ explicit: 'nope.yaml', env: {}, cwd: dir }))).toBe(
      `${join(dir, 'nope.yaml')}: no such file (named by -c); check the path, or create it with \`nightshift init ${dir}\``,
    );
    expect(messageOf(() => findConfigPath({ env: { NIGHTSHIFT_CONFIG: '/etc/ns/none.yaml' }, cwd: dir }))).toBe(
      '/etc/ns/none.yaml: no such file (named by NIGHTSHIFT_CONFIG); check the path, or create it with `nightshift init /etc/ns`',
    );
  });
});

describe('loadConfig', () => {
  it('reads, validates and resolves the file found from cwd', () => {
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'nightshift.yaml'), 'jobs:\n  hello: { command: echo hi, cwd: sub }\n');
    const config = loadConfig({ cwd: join(dir, 'app'), env: {}, hostname: 'h', pid: 7 });
    expect(config.configPath).toBe(join(dir, 'app', 'nightshift.yaml'));
    expect(config.project).toBe('app');
    expect(config.node).toBe('h-7');
    expect(config.jobs['hello']?.cwd).toBe(join(dir, 'app', 'sub'));
  });

  it('throws ConfigErrors carrying every problem, each a ConfigError with its fields', () => {
    writeFileSync(join(dir, 'nightshift.yaml'), 'jobs:\n  scan:\n    command: x\n    timeout: 5 min\n    retries: -2\n');
    let caught: unknown;
    try {
      loadConfig({ cwd: dir, env: {} });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigErrors);
    const errors = (caught as ConfigErrors).errors;
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(ConfigError);
    expect(errors[0]).toMatchObject({ file: join(dir, 'nightshift.yaml'), line: 4, column: 14, path: 'jobs.scan.timeout', problem: "'5 min' is not a duration" });
    expect((caught as ConfigErrors).message.split('\n')).toEqual(errors.map((error) => error.format()));
  });

  it('rejects a NIGHTSHIFT_DATABASE_URL that is not PostgreSQL without echoing it', () => {
    writeFileSync(join(dir, 'nightshift.yaml'), 'project: x\n');
    expect(messageOf(() => loadConfig({ cwd: dir, env: { NIGHTSHIFT_DATABASE_URL: 'mysql://root:hunter2@db/x' } }))).toBe(
      `${join(dir, 'nightshift.yaml')}: store: NIGHTSHIFT_DATABASE_URL is set but is not a postgres:// URL; set it to postgres://user:password@host/db, or unset it to use sqlite`,
    );
  });
});
