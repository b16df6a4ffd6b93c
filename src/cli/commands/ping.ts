import type { Command } from 'commander';
import pc from 'picocolors';
import type { ResolvedConfig } from '../../config/types.ts';
import type { Ping, PingKind } from '../../store/types.ts';
import { humanDuration } from '../../util/time.ts';
import { configuredChecks } from '../../watch/check-plans.ts';
import { connect, type Backend, type OutgoingPing } from '../backend.ts';
import { loadCliConfig } from '../context.ts';
import { CliError, EXIT_FAILED, usageError } from '../errors.ts';
import { printJson, relativeTime, table } from '../format.ts';
import { parseLimit } from '../options.ts';

const NAMED_KINDS: readonly string[] = ['start', 'success', 'fail', 'log'];
/** What Healthchecks.io takes as a run id (`?rid=`); it answers 400 to anything else. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerPing(program: Command): void {
  program
    .command('ping')
    .argument('<check>', 'the check name')
    .argument('[kind]', 'start, success, fail, log, or an exit code 0-255 (0 is a success)', 'success')
    .description("ping a check through the daemon, as its Healthchecks.io URL would; stdin (when not a terminal) is the ping's body")
    .option('--rid <uuid>', 'a run id pairing a start with its end (a UUID, e.g. from uuidgen)')
    .action(async (name: string, rawKind: string, options: { rid?: string }, command: Command) => {
      const { kind, exitCode } = parseKind(rawKind);
      if (options.rid !== undefined && !UUID.test(options.rid)) throw usageError(`--rid must be a UUID (e.g. from uuidgen); got '${options.rid}'`);
      const config = await loadCliConfig(command);
      // Read before anything can fail, so a producer piping into us is never cut off by an early exit (SIGPIPE).
      const body = await readStdinPrefix(config.http.pingBodyLimitBytes);
      const ping: OutgoingPing = { kind, exitCode, rid: options.rid?.toLowerCase() ?? null, body };
      const backend = await connect(config);
      try {
        if (!(await backend.sendPing(name, ping))) throw await unknownCheck(config, backend, name);
      } finally {
        await backend.close();
      }
    });

  program
    .command('pings')
    .argument('<check>', 'the check name')
    .description("a check's pings, newest first (a check keeps its last 100); works with or without the daemon")
    .option('--json', 'print the pings as JSON')
    .option('--limit <n>', 'how many pings to show (1-10000)', '100')
    .action(async (name: string, options: { json?: boolean; limit: string }, command: Command) => {
      const config = await loadCliConfig(command);
      const limit = parseLimit(options.limit);
      const backend = await connect(config);
      try {
        const pings = await backend.pings(name, limit);
        if (pings === null) throw await unknownCheck(config, backend, name);
        if (options.json) return printJson(pings);
        if (pings.length === 0) return void process.stdout.write(`no pings of ${name} yet\n`);
        const rows = [['WHEN', 'KIND', 'DURATION', 'BODY']];
        for (const ping of pings) {
          rows.push([relativeTime(ping.created_at), kindText(ping), ping.duration_ms != null ? humanDuration(ping.duration_ms) : '-', bodyText(ping.body)]);
        }
        process.stdout.write(`${table(rows)}\n`);
      } finally {
        await backend.close();
      }
    });
}

function parseKind(raw: string): { kind: PingKind; exitCode: number | null } {
  if (NAMED_KINDS.includes(raw)) return { kind: raw as PingKind, exitCode: null };
  if (/^[0-9]{1,3}$/.test(raw) && Number(raw) <= 255) return { kind: 'exit', exitCode: Number(raw) };
  throw usageError(`KIND must be start, success, fail, log or an exit code from 0 to 255; got '${raw}'`);
}

/**
 * The first `limitBytes` of stdin, or null when stdin is a terminal or empty. The rest is read and dropped (as the
 * daemon does with a long body), so a producer writing more is not killed by a closed pipe.
 */
async function readStdinPrefix(limitBytes: number): Promise<Uint8Array | null> {
  if (process.stdin.isTTY) return null;
  const chunks: Buffer[] = [];
  let kept = 0;
  try {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      if (kept >= limitBytes) continue;
      const part = chunk.subarray(0, limitBytes - kept);
      chunks.push(part);
      kept += part.byteLength;
    }
  } catch {
    // No stdin to read (fd 0 closed): the ping goes without a body, or with what arrived.
  }
  return kept === 0 ? null : Buffer.concat(chunks, kept);
}

/** Exit 2 listing the checks; exit 1 when the config has it but the running daemon has not loaded that config yet. */
async function unknownCheck(config: ResolvedConfig, backend: Backend, name: string): Promise<CliError> {
  const configured = configuredChecks(config).specs.map((s) => s.name);
  if (configured.includes(name)) {
    return new CliError(
      `the running daemon has no check '${name}' yet: it is in the config, which the daemon has not reloaded; ` +
        'reload it (SIGHUP to the pid `nightshift status` shows) or restart it',
      EXIT_FAILED,
    );
  }
  const names = [...new Set([...(await backend.checks()).map((c) => c.name), ...configured])];
  return usageError(`no check named '${name}' (${names.length ? `checks: ${names.join(', ')}` : 'there are no checks; add one under checks: in the config'})`);
}

const KIND_COLOURS: Record<PingKind, (s: string) => string> = { success: pc.green, fail: pc.red, start: pc.cyan, log: pc.dim, exit: pc.green };

function kindText(ping: Ping): string {
  if (ping.kind === 'exit') return (ping.exit_code === 0 ? pc.green : pc.red)(`exit ${ping.exit_code}`);
  return KIND_COLOURS[ping.kind](ping.kind);
}

/** The body's first line, cut to fit a table row; '-' for none. */
function bodyText(body: string | null): string {
  if (body === null || body.trim() === '') return '-';
  const lines = body.trim().split('\n');
  const first = lines[0]!.trim();
  return first.length > 60 || lines.length > 1 ? `${first.slice(0, 60)}…` : first;
}
