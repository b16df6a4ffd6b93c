/**
 * Errors the store raises. Every one carries a stable `code` that callers branch on, and a one-line message a human
 * can act on (it names the file and the fix where there is one).
 */

export type StoreErrorCode =
  /** The file exists but is not an SQLite database (random bytes, a log file written over it …). */
  | 'not_a_database'
  /** An SQLite database that nightshift did not create (it has tables but no schema_migrations). */
  | 'foreign_database'
  /** An SQLite database whose pages are damaged ("database disk image is malformed"). */
  | 'corrupt'
  /** The file or its directory cannot be opened: permissions, a directory in its place, a missing read-only file. */
  | 'cannot_open'
  /** A write was attempted on a store opened read-only, or on a file the process may not write. */
  | 'readonly'
  /** Another process held the database's write lock longer than the busy timeout. */
  | 'busy'
  /** The database was migrated by a newer nightshift than this one. */
  | 'schema_too_new'
  /** A read-only store found pending migrations it may not apply. */
  | 'schema_outdated'
  /** No run with that id. */
  | 'not_found'
  /** `startQueuedRun` on a run that is no longer queued (another process started or cancelled it). */
  | 'not_queued'
  /** `finishRun` / `setRunPid` on a run that is not running (it already ended, or never started). */
  | 'not_running'
  /**
   * A schedule fire whose record would not move the job's fire cursor forward: that fire (or a later one) was already
   * recorded, by this node before a restart or by another node that led at the time. Nothing was written.
   */
  | 'fire_taken'
  /** A write broke a uniqueness or reference rule (e.g. a run id used twice). */
  | 'conflict'
  /** A caller passed a value the store cannot record (an unparsable time, a negative limit …). */
  | 'invalid_argument'
  /** The store was closed. */
  | 'closed'
  /** The configured store kind is not implemented yet. */
  | 'unsupported'
  /** Anything else the database reported; `cause` holds the original error. */
  | 'internal';

/** A symbol, not `instanceof`, so two copies of this module (or two realms) still recognise each other's errors. */
const STORE_ERROR = Symbol.for('nightshift.StoreError');

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly [STORE_ERROR] = true;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isStoreError(value: unknown, code?: StoreErrorCode): value is StoreError {
  if (typeof value !== 'object' || value === null || !(STORE_ERROR in value)) return false;
  return code === undefined || (value as StoreError).code === code;
}
