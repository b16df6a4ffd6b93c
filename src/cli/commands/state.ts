/**
 * `nightshift state get KEY`, `state set KEY JSON [--version N]`, `state log KEY`: the SDK's `state` for shell
 * scripts and other languages (docs/coordination.md). Inside a run they act as the run; outside one as the operator,
 * through the daemon when it answers, else on the state database directly.
 */
import type { Command } from 'commander';
import { connectCoordination, type CoordinationBackend } from '../coordination-backend.ts';
import { EXIT_FAILED, usageError } from '../errors.ts';
import { printJson, table } from '../format.ts';
import { parseLimit } from '../options.ts';

export function registerState(program: Command): void {
  const state = program.command('state').description('shared JSON state by key, with versions and an audit log (get, set, log)');

  state
    .command('get')
    .argument('<key>', 'the key, e.g. articles.published')
    .option('--json', 'print { value, version } (null when the key was never written)')
    .description("print a key's value as JSON (exit 1 when it was never written)")
    .action(async (key: string, options: { json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        const entry = await backend.stateGet(key);
        if (options.json) printJson(entry);
        else if (entry !== null) printJson(entry.value);
        if (entry === null) {
          if (!options.json) process.stderr.write(`nightshift: state key ${key} has never been written\n`);
          process.exitCode = EXIT_FAILED;
        }
      });
    });

  state
    .command('set')
    .argument('<key>', 'the key')
    .argument('<json>', `the value as JSON: '{"n": 1}', '[1, 2]', '"text"' (quoted), 42, true, null`)
    .option('--if-version <n>', 'write only if the key is at this version now (0: only if it does not exist yet)')
    .option('--json', 'print { version }')
    .description('write a key; with --if-version a compare-and-set that exits 1 when someone wrote in between')
    .action(async (key: string, text: string, options: { ifVersion?: string; json?: boolean }, command: Command) => {
      const value = parseValue(text);
      const version = options.ifVersion === undefined ? undefined : parseVersion(options.ifVersion);
      await withBackend(command, async (backend) => {
        const written = await backend.stateSet(key, value, version);
        if (options.json) printJson(written);
        else process.stdout.write(`${key} is now version ${written.version}\n`);
      });
    });

  state
    .command('log')
    .argument('<key>', 'the key')
    .option('--limit <n>', 'how many entries (1-10000)', '100')
    .option('--json', 'print the entries as JSON')
    .description('who changed a key, when, and to what; newest first')
    .action(async (key: string, options: { limit: string; json?: boolean }, command: Command) => {
      const limit = parseLimit(options.limit);
      await withBackend(command, async (backend) => {
        const entries = await backend.stateLog(key, limit);
        if (options.json) return printJson(entries);
        if (entries.length === 0) return void process.stdout.write(`state key ${key} has no changes recorded\n`);
        const rows = [['VERSION', 'AT', 'BY', 'VALUE']];
        for (const e of entries) {
          const by = e.run_id ? `${e.job ?? '?'} (run ${e.run_id})` : 'operator';
          rows.push([String(e.version), e.at, by, e.value_kept ? shorten(JSON.stringify(e.value)) : `(${e.size_bytes} bytes, not kept in the log)`]);
        }
        process.stdout.write(`${table(rows)}\n`);
      });
    });
}

async function withBackend(command: Command, work: (backend: CoordinationBackend) => Promise<void>): Promise<void> {
  const backend = await connectCoordination(command);
  try {
    await work(backend);
  } finally {
    await backend.close();
  }
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw usageError(`JSON ${JSON.stringify(text)} is not JSON: quote text as JSON ('"${text.replace(/'/g, '')}"'), or write an object like '{"n": 1}'`);
  }
}

function parseVersion(raw: string): number {
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 0) throw usageError(`--if-version must be a whole number of 0 or more; got '${raw}'`);
  return version;
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

