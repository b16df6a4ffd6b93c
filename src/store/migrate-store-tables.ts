/**
 * The generic part of `migrate-store`: which tables to copy and in what order, and copying one table's rows from the
 * SQLite file into PostgreSQL in batches.
 *
 * Both dialects have the same tables and columns at the same schema version (test/store/postgres-schema.test.ts), so
 * the copy is driven by the PostgreSQL catalog rather than by a hand-kept list: a table a later migration adds is
 * copied without touching this file. Values need one mapping each way only: times are epoch-ms integers in both
 * (BIGINT in PostgreSQL); booleans are 0/1 in SQLite; PostgreSQL text cannot hold NUL (U+FFFD, as the store does).
 */
import type { Database as Db } from 'better-sqlite3';
import { StoreError } from './errors.ts';
import type { Db as PgDb } from './postgres/connection.ts';
import { pgText } from './postgres/rows.ts';

/** Tables that are not copied, and why (the CLI prints the reason). */
export const NOT_COPIED: Readonly<Record<string, string>> = {
  schema_migrations: 'the target is migrated to the same schema version by this nightshift',
  locks:
    'locks name processes of this host (the daemon, runs, `nightshift lock`); the copy is refused while any of them is alive, ' +
    'so what is left are stale holdings — and a run left running is recovered as lost on PostgreSQL (docs/scale-out.md)',
  nodes: 'the live members of a cluster on PostgreSQL; an SQLite state has none (the table is PostgreSQL-only)',
};

/** PostgreSQL allows at most 65535 parameters in one statement. */
const MAX_PARAMETERS = 65_535;

export interface Column {
  name: string;
  kind: 'boolean' | 'text' | 'other';
  identity: boolean;
}

export interface Table {
  name: string;
  columns: Column[];
}

/** The target's tables to copy, parents before the tables that reference them (foreign keys). */
export async function targetTables(db: PgDb): Promise<Table[]> {
  const { rows: columnRows } = await db.query<{ table_name: string; column_name: string; data_type: string; is_identity: string }>(
    `SELECT c.table_name, c.column_name, c.data_type, c.is_identity
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, Table>();
  for (const row of columnRows) {
    if (Object.hasOwn(NOT_COPIED, row.table_name)) continue;
    const table = tables.get(row.table_name) ?? { name: row.table_name, columns: [] };
    const kind = row.data_type === 'boolean' ? 'boolean' : row.data_type === 'text' ? 'text' : 'other';
    table.columns.push({ name: row.column_name, kind, identity: row.is_identity === 'YES' });
    tables.set(row.table_name, table);
  }
  const { rows: references } = await db.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'f' AND n.nspname = current_schema()`,
  );
  return parentsFirst([...tables.values()], references);
}

function parentsFirst(tables: Table[], references: ReadonlyArray<{ child: string; parent: string }>): Table[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const ordered: Table[] = [];
  const placed = new Set<string>();
  const place = (table: Table, path: Set<string>): void => {
    if (placed.has(table.name) || path.has(table.name)) return;
    path.add(table.name);
    for (const ref of references) {
      const parent = byName.get(unquote(ref.parent));
      if (unquote(ref.child) === table.name && parent !== undefined && parent !== table) place(parent, path);
    }
    placed.add(table.name);
    ordered.push(table);
  };
  for (const table of [...tables].sort((a, b) => a.name.localeCompare(b.name))) place(table, new Set());
  return ordered;
}

/** `regclass::text` may schema-qualify or quote a name; the tables of current_schema() come back bare. */
function unquote(name: string): string {
  return name.replace(/^.*\./, '').replace(/^"(.*)"$/, '$1');
}

/** Refuses a source whose table lacks a column the target has (a schema drift the schema test should have caught). */
export function checkSourceColumns(source: Db, table: Table, sourcePath: string): void {
  const have = new Set(source.prepare<[], { name: string }>(`PRAGMA table_info("${table.name}")`).all().map((c) => c.name));
  const missing = table.columns.filter((c) => !have.has(c.name)).map((c) => c.name);
  if (have.size === 0 || missing.length > 0) {
    throw new StoreError(
      'internal',
      `${sourcePath} has no ${have.size === 0 ? `table ${table.name}` : `column(s) ${missing.join(', ')} in ${table.name}`} at the ` +
        `same schema version as the target: nothing was copied; report this as a bug.`,
    );
  }
}

export function countSource(source: Db, table: string): number {
  return source.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM "${table}"`).get()?.n ?? 0;
}

export async function countTarget(db: PgDb, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM "${table}"`);
  return rows[0]?.n ?? 0;
}

/**
 * Copies every row of `table`, in rowid order, `batchRows` rows per INSERT (fewer when the columns would pass
 * PostgreSQL's parameter limit), keeping ids as they are; then moves an identity column's sequence past the highest
 * id copied so the next row the store inserts does not collide. Returns the rows copied.
 */
export async function copyTable(source: Db, target: PgDb, table: Table, batchRows: number): Promise<number> {
  const names = table.columns.map((c) => `"${c.name}"`).join(', ');
  const perBatch = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMETERS / table.columns.length)));
  // Every table nightshift has is a rowid table; paging by rowid keeps memory flat however large the table is.
  const page = source.prepare<[number, number], Record<string, unknown>>(
    `SELECT rowid AS "__rowid", ${names} FROM "${table.name}" WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  const identity = table.columns.some((c) => c.identity);
  const insertHead = `INSERT INTO "${table.name}" (${names})${identity ? ' OVERRIDING SYSTEM VALUE' : ''} VALUES `;
  let after = Number.MIN_SAFE_INTEGER;
  let copied = 0;
  for (;;) {
    const rows = page.all(after, perBatch);
    if (rows.length === 0) break;
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      const start = values.length;
      for (const column of table.columns) values.push(toTarget(row[column.name], column));
      return `(${table.columns.map((_, i) => `$${start + i + 1}`).join(', ')})`;
    });
    await target.query(insertHead + tuples.join(', '), values);
    copied += rows.length;
    after = Number(rows.at(-1)?.['__rowid']);
  }
  for (const column of table.columns.filter((c) => c.identity)) {
    await target.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX("${column.name}") FROM "${table.name}"), 1),
              (SELECT COUNT(*) > 0 FROM "${table.name}"))`,
      [`"${table.name}"`, column.name],
    );
  }
  return copied;
}

function toTarget(value: unknown, column: Column): unknown {
  if (value === null || value === undefined) return null;
  if (column.kind === 'boolean') return value !== 0 && value !== 0n && value !== '0';
  if (column.kind === 'text' && typeof value === 'string') return pgText(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}
