/**
 * Every SQLite migration, in the order it is applied. Migrations are TypeScript modules exporting SQL strings so that
 * `tsc` ships them in dist/ with no copy step.
 *
 * Rules: never edit a migration that has shipped (databases in the field already ran it); add the next number
 * instead. Versions are consecutive from 1; `migrate.ts` refuses a list with gaps.
 */
import { migration0001 } from './0001_initial.ts';
import { migration0002 } from './0002_watching.ts';
import { migration0003 } from './0003_containment.ts';
import { migration0004 } from './0004_tasks.ts';
import { migration0005 } from './0005_coordination.ts';
import { migration0006 } from './0006_task_failures.ts';
import { migration0007 } from './0007_breaker_reset.ts';
import { migration0008 } from './0008_claim_task.ts';
import { migration0009 } from './0009_cluster.ts';
import { migration0010 } from './0010_complete_and_claim.ts';

export interface Migration {
  version: number;
  /** Short snake_case name, recorded in schema_migrations for humans reading the database. */
  name: string;
  /** One or more statements, run in one transaction. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0009, migration0010];
