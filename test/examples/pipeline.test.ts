/**
 * The bundled example (examples/, what `npm start` runs) works as README.md's "The example pipeline" says: a copy of
 * examples/ in a temp dir (the real examples/.nightshift is never touched) is run by the built CLI's `nightshift up`
 * as a real daemon on a free port, and the commands the README names show the scanner enqueueing one task per page
 * (idempotently), the writer completing tasks, and the memory steward — and only the steward — updating the shared
 * state. Needs dist/ (`npm test` and `npm start` build it).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../src/store/types.ts';
import { CLI, spawnDaemon } from '../helpers/cli.ts';
import {
  cleanupAll,
  daemonAnswers,
  freePort,
  killLeftoverRuns,
  makeTempDir,
  onCleanup,
  parseJson,
  runCli,
  stopProcess,
  waitFor,
  type CliResult,
} from '../cli/helpers.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(REPO, 'examples');
const POLL_MS = 400;

interface TaskJson {
  state: 'queued' | 'running' | 'done' | 'dead';
  key: string | null;
  payload: { slug: string; revision: string };
}
interface Memory {
  articles: Record<string, { title: string; revision: string; drafted_by: string }>;
}

/** The slugs data/pages.txt lists: what the scanner "finds". */
const PAGES = readFileSync(join(EXAMPLES, 'data/pages.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => line.split('|')[0]!.trim());

let dir = '';
let env: NodeJS.ProcessEnv = {};

/** `nightshift ARGS -c <the copy>` with the copy's port; a non-zero exit is an error naming the command. */
async function ns(args: string[], options: { allowExit?: number[] } = {}): Promise<CliResult> {
  const result = await runCli([...args, '-c', join(dir, 'nightshift.yaml')], { cwd: dir, env });
  if (result.code !== 0 && !(options.allowExit ?? []).includes(result.code ?? -1)) {
    throw new Error(`nightshift ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return result;
}
/** For a wait that timed out: rethrows its error with what these commands print, so a failure says why. */
function explainWith(...commands: string[][]): (error: unknown) => Promise<never> {
  return async (error) => {
    const outputs = await Promise.all(commands.map(async (args) => {
      const result = await ns(args, { allowExit: [1, 2] }).catch((e: unknown) => ({ stdout: '', stderr: String(e) }));
      return `$ nightshift ${args.join(' ')}\n${result.stdout}${result.stderr}`;
    }));
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${outputs.join('\n')}`);
  };
}
const history = async (job: string) => parseJson<Run[]>(await ns(['history', job, '--json']));
const taskList = async (queue: string) => parseJson<TaskJson[]>(await ns(['task', 'list', queue, '--json']));

beforeAll(async () => {
  expect(existsSync(CLI), `${CLI} is missing: build first (npx tsc -p tsconfig.build.json)`).toBe(true);
  dir = makeTempDir('nightshift-example-');
  cpSync(EXAMPLES, dir, { recursive: true, filter: (source) => !/[/\\](\.nightshift|out)$/.test(source) });
  // The scripts import 'nightshift/sdk'. Inside the repo that is the package naming itself (package.json "exports");
  // a copy outside the repo finds the package the way an installed project would, through node_modules.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'nightshift'), 'dir');
  const port = await freePort();
  env = { NIGHTSHIFT_LISTEN: `127.0.0.1:${port}` };
  onCleanup(() => killLeftoverRuns(join(dir, '.nightshift')));   // after the daemon stops: whatever its runs left

  const daemon = spawnDaemon(join(dir, 'nightshift.yaml'), env);
  // The daemon gives running runs the example's 5 s shutdown_grace, then kills their trees; SIGKILL if it overstays.
  onCleanup(() => stopProcess(daemon, 15_000));
  await waitFor(async () => {
    if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`the daemon exited: ${daemon.output()}`);
    return daemonAnswers(`http://127.0.0.1:${port}`, daemon.pid!);
  }, 10_000, 'the example daemon to answer');
}, 20_000);

afterAll(cleanupAll, 30_000);

describe('the example pipeline (examples/nightshift.yaml)', () => {
  it('validates: `nightshift validate -c examples/nightshift.yaml` exits 0', async () => {
    const result = await runCli(['validate', '-c', 'examples/nightshift.yaml'], { cwd: REPO });
    expect(result.code, result.stderr).toBe(0);
    const status = parseJson<{ jobs: Array<{ name: string; kind: string }> }>(await ns(['status', '--json']));
    expect(Object.fromEntries(status.jobs.map((job) => [job.name, job.kind]))).toEqual({
      scan: 'scheduled', writer: 'triggered', steward: 'service', publish: 'scheduled', previews: 'scheduled', report: 'triggered',
    });
  });

  it('runs the scanner on its schedule, which enqueues one articles task per page, keyed by page and revision', async () => {
    // Every 15 s; one attempt in four fails on purpose and is retried after 2 s, then 4 s.
    await waitFor(async () => (await history('scan')).some((run) => run.status === 'succeeded'), 40_000, 'a successful scan', POLL_MS);
    const tasks = await taskList('articles');
    expect(tasks.length).toBeGreaterThanOrEqual(PAGES.length);
    const revisions = [...new Set(tasks.map((task) => task.payload.revision))];
    for (const revision of revisions) {
      const slugs = tasks.filter((task) => task.payload.revision === revision).map((task) => task.payload.slug);
      expect(slugs.sort()).toEqual([...PAGES].sort());
    }
    for (const task of tasks) expect(task.key).toBe(`${task.payload.slug}@${task.payload.revision}`);
  }, 45_000);

  it('has the writer complete tasks, one run per task', async () => {
    // At most 4 claims a minute; a simulated 429 pauses the queue for 10 s.
    const done = await waitFor(async () => {
      const list = (await taskList('articles')).filter((task) => task.state === 'done');
      return list.length > 0 ? list : null;
    }, 25_000, 'a done articles task', POLL_MS).catch(explainWith(['status'], ['history', 'writer'], ['logs', 'writer'], ['task', 'list', 'articles']));
    const runs = await history('writer');
    expect(runs.every((run) => run.trigger === 'task')).toBe(true);
    expect(runs.filter((run) => run.status === 'succeeded').length).toBeGreaterThanOrEqual(done.length);
    const logs = await ns(['logs', 'writer']);
    expect(logs.stdout).toContain(`drafted out/drafts/${done[0]!.payload.slug}.md`);
  }, 30_000);

  it('updates the shared memory through the steward, its only writer', async () => {
    const done = (await taskList('articles')).filter((task) => task.state === 'done').map((task) => task.payload.slug);
    const memory = await waitFor(async () => {
      const entry = parseJson<{ value: Memory; version: number } | null>(await ns(['state', 'get', 'memory', '--json'], { allowExit: [1] }));
      return entry !== null && done.every((slug) => slug in entry.value.articles) ? entry : null;
    }, 15_000, 'the steward to apply the drafted notes to the memory', POLL_MS).catch(explainWith(['status'], ['logs', 'steward'], ['task', 'list', 'memory']));
    expect(memory.version).toBeGreaterThanOrEqual(done.length);
    // Every version of the key, from the first, was written by a run of the steward (the log is newest first).
    const log = parseJson<Array<{ version: number; job: string | null }>>(await ns(['state', 'log', 'memory', '--json']));
    expect(log.map((entry) => entry.version).slice(-memory.version)).toEqual(Array.from({ length: memory.version }, (_, i) => memory.version - i));
    expect(new Set(log.map((entry) => entry.job))).toEqual(new Set(['steward']));
    expect((await taskList('memory')).some((task) => task.state === 'done')).toBe(true);
  }, 20_000);

  it('adds no second task when a later scan finds the same pages again', async () => {
    await waitFor(async () => (await history('scan')).filter((run) => run.status === 'succeeded').length >= 2, 40_000, 'a second successful scan', POLL_MS);
    const tasks = await taskList('articles');
    const revisions = new Set(tasks.map((task) => task.payload.revision));
    expect(tasks.length).toBe(PAGES.length * revisions.size);   // a new revision (every 10 min) is new work; nothing else
  }, 45_000);
});
