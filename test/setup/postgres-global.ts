/**
 * vitest globalSetup: one PostgreSQL for the whole test run, handed to test files through `provide('postgres')`
 * (read it with `usePostgres()` from test/helpers/postgres.ts; each file then works in schemas of its own).
 *
 * - NIGHTSHIFT_TEST_DATABASE_URL set: that database is used as it is (nothing is started or stopped). The role needs
 *   CREATE on the database (tests create and drop a schema per test).
 * - Otherwise a throwaway cluster is made from the PostgreSQL server binaries installed on the machine (Debian's
 *   postgresql package: /usr/lib/postgresql/<version>/bin, the newest version found; else initdb on PATH): `initdb`
 *   into a temporary directory, `pg_ctl start` on a free port of 127.0.0.1 with its socket in that directory and
 *   fsync off (nothing in it needs to survive), and `pg_ctl stop -m immediate` plus removal of the directory after the
 *   run. A PostgreSQL already running on the machine is never touched.
 * - As root (how the tests run in CI and on the VPS), initdb refuses to run, so initdb and pg_ctl run as the
 *   `postgres` OS user through `runuser -u postgres --`, with the temporary directory chowned to it.
 *
 * Starting costs about a second, and happens only when the run includes a test file that uses PostgreSQL. When it
 * fails (no binaries, no postgres user) the run goes on: the failure is handed to the test files instead, and only
 * the PostgreSQL tests fail, with the reason and the fix.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { ProvidedPostgres } from '../helpers/postgres.ts';

const STARTS = 3;
const PREFIX = 'nightshift-pg-';
/** The pid of the vitest process that made the cluster: one left by a run that was killed is removed by the next. */
const OWNER_FILE = 'owner.pid';

export interface Cluster {
  dir: string;
  bin: string;
  url: string;
  asPostgres: boolean;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['NIGHTSHIFT_TEST_DATABASE_URL'];
  if (given !== undefined && given !== '') {
    project.provide('postgres', { url: given, error: null } satisfies ProvidedPostgres);
    return async () => {};
  }
  if (!postgresSelected(project)) {
    project.provide('postgres', { url: null, error: 'no test file that uses PostgreSQL was selected, so none was started' });
    return async () => {};
  }
  let cluster: Cluster | null = null;
  try {
    removeAbandonedClusters();
    cluster = await startCluster();
    project.provide('postgres', { url: cluster.url, error: null } satisfies ProvidedPostgres);
  } catch (err) {
    project.provide('postgres', { url: null, error: err instanceof Error ? err.message : String(err) } satisfies ProvidedPostgres);
  }
  return async () => {
    if (cluster !== null) stopCluster(cluster);
  };
}

/**
 * Whether this run includes a test file that uses PostgreSQL (imports test/helpers/postgres.ts), so a run of other
 * files (`vitest run test/cli`) starts no cluster. Vitest matches its file filters as substrings of the path; the
 * filters are read from an internal field, and when that is not there every run starts one, as if unfiltered.
 */
function postgresSelected(project: TestProject): boolean {
  const patterns = (project.vitest as unknown as { filenamePattern?: unknown }).filenamePattern;
  if (!Array.isArray(patterns) || patterns.length === 0) return true;
  const root = project.config.root;
  const users = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => join(root, 'test', file))
    .filter((file) => readFileSync(file, 'utf8').includes('helpers/postgres.ts'));
  return users.some((file) =>
    patterns.some((pattern) => typeof pattern === 'string' && (file.includes(pattern) || relative(root, file).includes(pattern.replace(/^\.\//, '')))),
  );
}

export async function startCluster(): Promise<Cluster> {
  const bin = findBinDir();
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  try {
    writeFileSync(join(dir, OWNER_FILE), String(process.pid));
    if (asPostgres) chownSync(dir, postgresId('-u'), postgresId('-g'));
    const data = join(dir, 'data');
    run(asPostgres, join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    let lastError = '';
    for (let attempt = 0; attempt < STARTS; attempt++) {
      // Another process may take the free port between our probe and the server's bind: try another one.
      const port = await freePort();
      const started = exec(asPostgres, join(bin, 'pg_ctl'), ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', serverOptions(port, dir)]);
      if (started.status === 0) return { dir, bin, url: `postgres://postgres@127.0.0.1:${port}/postgres`, asPostgres };
      lastError = `${started.stderr}${readLog(dir)}`;
    }
    throw new Error(`pg_ctl start failed ${STARTS} times: ${lastError}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The server's settings: loopback on `port`, its socket in `dir`, nothing synced (test/helpers/private-postgres.ts restarts with them). */
export function serverOptions(port: number, dir: string): string {
  return [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=100',
  ].join(' ');
}

/**
 * A run killed with SIGKILL never reaches its teardown and leaves its cluster running. Each run removes the clusters
 * whose owning vitest process is gone (never one of a run still going: its owner is alive).
 */
function removeAbandonedClusters(): void {
  const asPostgres = process.getuid?.() === 0;
  for (const name of readdirSync(tmpdir()).filter((entry) => entry.startsWith(PREFIX))) {
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // being made right now, or not ours
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    try {
      stopCluster({ dir, bin: findBinDir(), url: '', asPostgres });
    } catch {
      // Already stopped: stopCluster has removed the directory anyway.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function stopCluster(cluster: Cluster): void {
  try {
    run(cluster.asPostgres, join(cluster.bin, 'pg_ctl'), ['stop', '-D', join(cluster.dir, 'data'), '-m', 'immediate', '-w']);
  } finally {
    rmSync(cluster.dir, { recursive: true, force: true });
  }
}

/** The newest /usr/lib/postgresql/<version>/bin with initdb in it, else the directory of initdb on PATH. */
function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error(
    'no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and PATH for initdb): install them ' +
      '(apt-get install postgresql) or set NIGHTSHIFT_TEST_DATABASE_URL to a database the tests may use',
  );
}

function postgresId(flag: '-u' | '-g'): number {
  try {
    return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(
      'the tests run as root and initdb refuses root, but there is no `postgres` user to run it as: install ' +
        "Debian's postgresql package (it creates the user), or set NIGHTSHIFT_TEST_DATABASE_URL",
    );
  }
}

export function exec(asPostgres: boolean, program: string, args: string[]): SpawnSyncReturns<string> {
  const [file, ...rest] = asPostgres ? ['runuser', '-u', 'postgres', '--', program] : [program];
  return spawnSync(file!, [...rest, ...args], { encoding: 'utf8' });
}

function run(asPostgres: boolean, program: string, args: string[]): void {
  const result = exec(asPostgres, program, args);
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stderr}`);
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
