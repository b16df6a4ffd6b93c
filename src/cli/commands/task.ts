/**
 * `nightshift task …`: the SDK's `tasks` for shell scripts and other languages (docs/tasks.md). Each subcommand is
 * one SDK call, and `--json` prints exactly what that call returns. Inside a run (NIGHTSHIFT_URL set) it acts as the
 * run, with its own token; outside one, as the operator with the API token, through the daemon the config names.
 * Task queues live in the daemon: these need it running, except `task list`, which reads the store without one.
 *
 * Exit codes: 0 done; 1 refused or nothing to claim (`task claim` found no task); 2 a bad flag, JSON or queue name.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../config/units.ts';
import { readApiToken } from '../../daemon/api-token.ts';
import { daemonFromEnv, NightshiftError } from '../../sdk/client.ts';
import { createTasks, type QueueInfo, type TaskRecord, type TasksApi, type TaskState } from '../../sdk/tasks.ts';
import { loadCliConfig } from '../context.ts';
import { CliError, EXIT_FAILED, EXIT_USAGE, usageError } from '../errors.ts';
import { printJson, relativeTime, table } from '../format.ts';
import { parseLimit } from '../options.ts';

const STATES: readonly TaskState[] = ['queued', 'running', 'done', 'dead'];

export function registerTask(program: Command): void {
  const task = program.command('task').description('durable task queues: enqueue, claim, complete, fail, list, requeue (see docs/tasks.md)');

  task
    .command('enqueue')
    .argument('<queue>', 'a queue declared under queues:')
    .argument('[json]', `the payload as JSON: '{"url": "https://…"}' (default null)`)
    .option('--key <key>', 'idempotency key: a key the queue already holds returns that task (duplicate: true)')
    .option('--run-at <time>', 'not before this: an ISO-8601 time, or a delay like 10m')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--json', 'print { id } or { id, duplicate: true }')
    .description('add a task to a queue')
    .action(async (queue: string, text: string | undefined, options: { key?: string; runAt?: string; priority?: string; json?: boolean }, command: Command) => {
      const payload = text === undefined ? null : parseJson(text, 'JSON');
      const priority = options.priority === undefined ? undefined : wholeNumber(options.priority, '--priority');
      if (options.runAt !== undefined) checkRunAt(options.runAt);
      const result = await call(command, (api) =>
        api.enqueue(queue, payload, {
          ...(options.key !== undefined ? { key: options.key } : {}),
          ...(options.runAt !== undefined ? { runAt: options.runAt } : {}),
          ...(priority !== undefined ? { priority } : {}),
        }),
      );
      if (options.json) printJson(result);
      else process.stdout.write(result.duplicate ? `${result.id} (already queued under key ${options.key})\n` : `${result.id}\n`);
    });

  task
    .command('claim')
    .argument('<queue>', 'the queue')
    .option('--lease <duration>', "how long the claim lasts unless extended or finished (default: the queue's lease)")
    .option('--wait <duration>', 'wait up to this long for a task when none is due (at most 60s)')
    .option('--json', 'print the task (with its token), or null')
    .description('claim the next due task; prints its payload (exit 1 when there is none)')
    .action(async (queue: string, options: { lease?: string; wait?: string; json?: boolean }, command: Command) => {
      if (options.lease !== undefined) duration(options.lease, '--lease');
      if (options.wait !== undefined) duration(options.wait, '--wait');
      const claimed = await call(command, (api) =>
        api.claim(queue, { ...(options.lease !== undefined ? { lease: options.lease } : {}), ...(options.wait !== undefined ? { wait: options.wait } : {}) }),
      );
      if (options.json) printJson(claimed);
      else if (claimed !== null) process.stdout.write(`${claimed.id} attempt ${claimed.attempt} ${JSON.stringify(claimed.payload)}\n`);
      if (claimed === null) {
        if (!options.json) process.stderr.write(`nightshift: no task due in ${queue}\n`);
        process.exitCode = EXIT_FAILED;
      }
    });

  task
    .command('extend')
    .argument('<id>', 'the task id')
    .argument('[duration]', "the new lease from now (default: the queue's lease)")
    .option('--json', 'print the task')
    .description('keep a claimed task: its lease runs again from now')
    .action(async (id: string, lease: string | undefined, options: { json?: boolean }, command: Command) => {
      if (lease !== undefined) duration(lease, 'DURATION');
      report(await call(command, (api) => api.extend(id, lease)), options.json, (t) => `${t.id} held until ${t.lease_expires_at ?? 'its run ends'}`);
    });

  task
    .command('complete')
    .argument('<id>', 'the task id')
    .argument('[json]', 'the result as JSON (default null)')
    .option('--json', 'print the task')
    .description('mark a claimed task done')
    .action(async (id: string, text: string | undefined, options: { json?: boolean }, command: Command) => {
      const result = text === undefined ? null : parseJson(text, 'JSON');
      report(await call(command, (api) => api.complete(id, result)), options.json, (t) => `${t.id} done`);
    });

  task
    .command('fail')
    .argument('<id>', 'the task id')
    .option('--error <message>', 'what went wrong (kept as the last error)', 'failed')
    .option('--retry-after <duration>', "a rate limit's Retry-After: pause the whole queue this long, without spending a retry")
    .option('--json', 'print the task')
    .description('fail a claimed task: retried after a backoff, or dead once its retries are spent')
    .action(async (id: string, options: { error: string; retryAfter?: string; json?: boolean }, command: Command) => {
      if (options.retryAfter !== undefined) duration(options.retryAfter, '--retry-after');
      const failure = { error: options.error, ...(options.retryAfter !== undefined ? { retryAfter: options.retryAfter } : {}) };
      report(await call(command, (api) => api.fail(id, failure)), options.json, describeState);
    });

  task
    .command('list')
    .argument('<queue>', 'the queue')
    .option('--dead', 'only the dead letter (tasks whose retries are spent)')
    .option('--state <state>', `only tasks in this state: ${STATES.join(', ')}`)
    .option('--limit <n>', 'how many (1-10000), newest first', '100')
    .option('--json', 'print the tasks as JSON')
    .description("a queue's tasks, newest first")
    .action(async (queue: string, options: { dead?: boolean; state?: string; limit: string; json?: boolean }, command: Command) => {
      const limit = parseLimit(options.limit);
      if (options.state !== undefined && !STATES.includes(options.state as TaskState)) throw usageError(`--state must be one of ${STATES.join(', ')}; got '${options.state}'`);
      if (options.dead && options.state !== undefined && options.state !== 'dead') throw usageError('--dead and --state say different things: give one');
      const state = options.dead ? 'dead' : (options.state as TaskState | undefined);
      const offline = await listWithoutDaemon(command, queue, state, limit);
      const list = offline ?? (await call(command, (api) => api.list(queue, { limit, ...(state ? { state } : {}) })));
      if (options.json) return printJson(list);
      // Why queued tasks may not be moving: the queue's pause (a Retry-After) or its spent retry budget.
      const held = offline ? 'daemon not running (showing the stored tasks; start it with `nightshift up`)\n' : queueHeld(await call(command, (api) => api.queue(queue)));
      if (list.length === 0) return void process.stdout.write(`${held}no ${state ?? ''}${state ? ' ' : ''}tasks in ${queue}\n`);
      const rows = [['ID', 'STATE', 'ATTEMPT', 'RUN AT', 'KEY', 'LAST ERROR']];
      for (const t of list) rows.push([t.id, t.state, String(t.attempt), relativeTime(t.run_at), t.key ?? '-', shorten(t.last_error ?? '-')]);
      process.stdout.write(`${held}${table(rows)}\n`);
    });

  task
    .command('get')
    .argument('[id]', 'the task id (default: $NIGHTSHIFT_TASK_ID, the task of a queue-driven run)')
    .option('--json', 'print the whole task (default: its payload as JSON)')
    .description("print a task's payload (with --json, the whole task)")
    .action(async (given: string | undefined, options: { json?: boolean }, command: Command) => {
      const id = given ?? process.env.NIGHTSHIFT_TASK_ID ?? '';
      if (id === '') throw usageError('give a task id: ID is only optional inside a queue-driven run (NIGHTSHIFT_TASK_ID is not set)');
      const found = await call(command, (api) => api.get(id));
      if (options.json) printJson(found);
      else process.stdout.write(`${JSON.stringify(found.payload)}\n`);
    });

  task
    .command('requeue')
    .argument('<id>', 'the task id (of a dead task)')
    .option('--json', 'print the task')
    .description('put a dead task back in its queue with its attempts reset')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      report(await call(command, (api) => api.requeue(id)), options.json, (t) => `${t.id} queued again`);
    });
}

/** The SDK against the daemon: the run's (inside a run) or the config's with the API token. */
async function connect(command: Command): Promise<TasksApi> {
  if ((process.env.NIGHTSHIFT_URL ?? '') !== '') {
    const address = daemonFromEnv();
    return createTasks(() => address);
  }
  const config = await loadCliConfig(command);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host === '::' ? '::1' : config.http.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
  const token = (await readApiToken(config.stateDir, config.http.token)) ?? '';
  return createTasks(() => ({ url, token, runId: null }));
}

/**
 * Outside a run with the daemon not answering, `task list` reads the state database, as `status` and `history` do:
 * the tasks are there whether or not the daemon runs. Null when the daemon answers (or inside a run: ask it).
 */
async function listWithoutDaemon(command: Command, queue: string, state: TaskState | undefined, limit: number): Promise<TaskRecord[] | null> {
  if ((process.env.NIGHTSHIFT_URL ?? '') !== '') return null;
  try {
    await (await connect(command)).queue(queue);
    return null;
  } catch (error) {
    if (!(error instanceof NightshiftError) || error.code !== 'unreachable') return null;
  }
  const config = await loadCliConfig(command);
  if (!Object.hasOwn(config.queues, queue)) {
    const declared = Object.keys(config.queues);
    throw usageError(`no queue named '${queue}'; ${declared.length ? `the config declares ${declared.join(', ')}` : 'the config declares no queues (queues: in nightshift.yaml)'}`);
  }
  const [{ openStore }, { taskJson }] = await Promise.all([import('../../store/open.ts'), import('../../tasks/types.ts')]);
  const store = await openStore(config.store, { readonly: true });
  try {
    await store.migrate();
    const tasks = await store.listTasks({ queue, limit, ...(state ? { states: [state] } : {}) });
    return tasks.map(taskJson);
  } finally {
    await store.close();
  }
}

/** One SDK call; a refusal becomes one line on stderr (exit 2 for what the caller got wrong, else 1). */
async function call<T>(command: Command, work: (api: TasksApi) => Promise<T>): Promise<T> {
  const api = await connect(command);
  try {
    return await work(api);
  } catch (error) {
    if (!(error instanceof NightshiftError)) throw error;
    const usage = error.status === 400 || error.code === 'unknown_queue';
    throw new CliError(error.message, usage ? EXIT_USAGE : EXIT_FAILED);
  }
}

function report(task: TaskRecord, json: boolean | undefined, line: (task: TaskRecord) => string): void {
  if (json) printJson(task);
  else process.stdout.write(`${line(task)}\n`);
}

/** Lines saying what holds the queue back now, each ending in a newline; empty when nothing does. */
function queueHeld(info: QueueInfo): string {
  const lines: string[] = [];
  if (info.paused_until) lines.push(`queue ${info.queue} is paused until ${info.paused_until}: ${info.pause_reason ?? 'no reason given'}`);
  if (info.budget_exhausted_until) {
    lines.push(`queue ${info.queue}: its retry budget is spent; failed tasks wait (not dead) until ${info.budget_exhausted_until}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

function describeState(task: TaskRecord): string {
  if (task.state === 'dead') return `${task.id} is dead (retries spent): nightshift task requeue ${task.id} when fixed`;
  return `${task.id} queued again for ${task.run_at} (attempt ${task.attempt} spent)`;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw usageError(`${what} must be JSON, like '{"url": "https://example.com"}' (strings need their quotes: '"text"'); got ${text}`);
  }
}

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw usageError(`${flag} must be a whole number; got '${text}'`);
  return n;
}

function duration(text: string, flag: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw usageError(`${flag}: ${(error as Error).message}`);
  }
}

function checkRunAt(text: string): void {
  if (!Number.isNaN(Date.parse(text))) return;
  try {
    parseDuration(text);
  } catch {
    throw usageError(`--run-at must be an ISO-8601 time like 2026-01-01T09:00:00Z, or a delay like 10m; got '${text}'`);
  }
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
