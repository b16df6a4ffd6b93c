/**
 * `nightshift migrate-store --to postgres://… [--from FILE] [--json]`: copies a SQLite state into an empty PostgreSQL
 * database (src/store/migrate-store.ts does the work and says what it refuses). The URL is only ever shown masked.
 */
import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../../config/defaults.ts';
import { HostProcesses } from '../../scheduler/host-processes.ts';
import { isStoreError } from '../../store/errors.ts';
import { migrateStore, MigrateStoreRefused } from '../../store/migrate-store.ts';
import { maskUrl } from '../../store/postgres/connection.ts';
import { loadCliConfig } from '../context.ts';
import { CliError, EXIT_FAILED, usageError } from '../errors.ts';
import { printJson, table } from '../format.ts';

interface Flags {
  to?: string;
  from?: string;
  json?: boolean;
}

export function registerMigrateStore(program: Command): void {
  program
    .command('migrate-store')
    .description('copy a SQLite state (history, checks, incidents, tasks, state) into an empty PostgreSQL database')
    .option('--to <url>', 'the PostgreSQL database: postgres://user:password@host/db (default: $NIGHTSHIFT_DATABASE_URL)')
    .option('--from <file>', "the SQLite state (default: the config's state_dir/state.db)")
    .option('--json', 'print the rows copied per table as JSON')
    .action(async (flags: Flags, command: Command) => {
      const to = targetUrl(flags.to);
      const from = flags.from !== undefined ? resolve(flags.from) : join((await loadCliConfig(command)).stateDir, DEFAULTS.sqlite_file);
      const host = new HostProcesses();
      const started = performance.now();
      let result;
      try {
        result = await migrateStore({ from, to, isAlive: (pid, pidStart) => host.isAlive(pid, pidStart) });
      } catch (error) {
        if (error instanceof MigrateStoreRefused || isStoreError(error)) throw new CliError(error.message, EXIT_FAILED);
        throw error;
      }
      const copied = result.tables.reduce((sum, t) => sum + t.rows, 0);
      if (flags.json) return printJson({ from, to: maskUrl(to), schema_version: result.schemaVersion, tables: result.tables, skipped: result.skipped });
      const rows = [['TABLE', 'ROWS'], ...result.tables.map((t) => [t.table, String(t.rows)])];
      process.stdout.write(`${table(rows)}\n`);
      for (const skipped of result.skipped) process.stdout.write(`not copied: ${skipped.table} (${skipped.why})\n`);
      process.stdout.write(
        `copied ${copied} rows from ${from} into ${maskUrl(to)} in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
          `every table's count matches the source. Point the config at it (store: postgres://…, password from the ` +
          `environment) and start the daemon; ${from} was left as it was.\n`,
      );
    });
}

/** --to, else $NIGHTSHIFT_DATABASE_URL (which keeps the password out of the process list); never echoed unmasked. */
function targetUrl(flag: string | undefined): string {
  const url = flag ?? process.env['NIGHTSHIFT_DATABASE_URL'];
  if (url === undefined || url === '') {
    throw usageError('name the PostgreSQL database to copy into: --to postgres://user:password@host/db, or set NIGHTSHIFT_DATABASE_URL');
  }
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) {
    throw usageError(`--to ${maskUrl(url)} is not a postgres:// URL: give postgres://user:password@host/db`);
  }
  return url;
}
