/**
 * Chooses the store dialect from the resolved config. The only place that knows which dialects exist.
 */
import type { StoreConfig } from '../config/types.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  /** Open without writing (the CLI's read commands): `migrate()` only checks the schema version. */
  readonly?: boolean;
  /**
   * PostgreSQL: the application_name of every connection — a daemon's names its node and process (src/cluster/
   * sessionName), so the cluster can end every session of a node it declares dead, with the transactions it left open.
   */
  applicationName?: string;
}

/** Opens the configured store. Call `migrate()` on the result before using it. */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return openSqliteStore(config.path, options);
    case 'postgres': {
      // Loaded on demand: a node on SQLite (the common case) never loads pg.
      const { openPostgresStore } = await import('./postgres/postgres-store.ts');
      return openPostgresStore(config.url, options);
    }
  }
}
