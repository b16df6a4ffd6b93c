/**
 * A private, throwaway PostgreSQL cluster for one benchmark run: the minimal start/stop of test/setup/postgres-global.ts
 * (which is TypeScript and cannot be imported from a plain .mjs on Node 20), with the same settings.
 *
 * - The newest /usr/lib/postgresql/<version>/bin (else initdb on PATH); as root, initdb and pg_ctl run as the
 *   `postgres` user through `runuser -u postgres --`, with the temporary directory chowned to it.
 * - `initdb` into a temporary directory, `pg_ctl start` on a free port of 127.0.0.1 (socket in that directory; nothing
 *   listens anywhere else), fsync off, synchronous_commit off, full_page_writes off — as the tests' cluster: nothing in
 *   it needs to survive, and the benchmark measures the queues' round trips and CPU, not the disk.
 * - `stop()` is `pg_ctl stop -m immediate` plus removal of the directory; it is registered with bench/lib.mjs's
 *   cleanup, so it also runs when the benchmark fails or is interrupted. A PostgreSQL already running is never touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, onCleanup } from '../lib.mjs';

/** Starts a cluster; `extraOptions` are more `-c name=value` server settings (e.g. shared_preload_libraries). */
export async function startCluster({ extraOptions = [] } = {}) {
  const bin = findBinDir();
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-pg-'));
  let started = false;
  const stop = () => {
    try {
      if (started) run(asPostgres, join(bin, 'pg_ctl'), ['stop', '-D', join(dir, 'data'), '-m', 'immediate', '-w']);
    } finally {
      started = false;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const removeHook = onCleanup(stop);
  try {
    if (asPostgres) chownSync(dir, postgresId('-u'), postgresId('-g'));
    const data = join(dir, 'data');
    run(asPostgres, join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const options = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=100',
        ...extraOptions.map((o) => `-c ${o}`),
      ].join(' ');
      const result = exec(asPostgres, join(bin, 'pg_ctl'), ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', options]);
      if (result.status === 0) {
        started = true;
        const version = readFileSync(join(data, 'PG_VERSION'), 'utf8').trim();
        return {
          url: `postgres://postgres@127.0.0.1:${port}/postgres`,
          version,
          bin,
          stop: () => {
            removeHook();
            stop();
          },
        };
      }
      lastError = `${result.stderr}${readLog(dir)}`;
    }
    throw new Error(`pg_ctl start failed 3 times: ${lastError}`);
  } catch (err) {
    removeHook();
    stop();
    throw err;
  }
}

function findBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error('no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin or on PATH: apt-get install postgresql, or set NIGHTSHIFT_BENCH_DATABASE_URL');
}

function postgresId(flag) {
  try {
    return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error('running as root, initdb refuses root, and there is no `postgres` user: install postgresql, or set NIGHTSHIFT_BENCH_DATABASE_URL');
  }
}

function exec(asPostgres, program, args) {
  const [file, ...rest] = asPostgres ? ['runuser', '-u', 'postgres', '--', program] : [program];
  return spawnSync(file, [...rest, ...args], { encoding: 'utf8' });
}

function run(asPostgres, program, args) {
  const result = exec(asPostgres, program, args);
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stderr}`);
}

function readLog(dir) {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}
