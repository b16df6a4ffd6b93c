/**
 * The state steward (seed 002's "memory steward"): shared JSON state by key, with one writer — the store, whose
 * write transactions serialise every write — a version per key and an audit log of who changed what and when.
 *
 * `set` with a version is a compare-and-set: it writes only when the key is still at that version, so a
 * read-modify-write loop (`update` in the SDK) never loses a concurrent update; it retries on a conflict instead.
 * The daemon's HTTP routes and the CLI without a daemon both go through here, so limits and messages are the same.
 */
import { COORDINATION } from '../config/defaults.ts';
import { formatSizeApprox, parseSize } from '../config/units.ts';
import type { StateAuthor, StateEntry, StateLogEntry, Store } from '../store/types.ts';
import { CoordinationError } from './errors.ts';
import { checkName } from './names.ts';

const MAX_VALUE_BYTES = parseSize(COORDINATION.state.max_value_size);
const LOG_VALUE_MAX_BYTES = parseSize(COORDINATION.state.log_value_max);

export class StateSteward {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** The key's value and version (DESIGN.md's `{ value, version }`) with who wrote it last; null when never written. */
  async get(key: string): Promise<StateEntry | null> {
    return this.#store.getState(checkKey(key));
  }

  /**
   * Writes `value` as the key's next version. With `version` (0: the key must not exist yet) it is a
   * compare-and-set: a key no longer at that version is a `conflict` naming the current one.
   */
  async set(key: string, value: unknown, options: { version?: number | null; by: StateAuthor }): Promise<{ key: string; version: number }> {
    checkKey(key);
    const expect = options.version ?? null;
    if (expect !== null && (!Number.isInteger(expect) || expect < 0)) {
      throw new CoordinationError('bad_request', `version must be a whole number of 0 or more (0: only if the key does not exist yet); got ${JSON.stringify(expect)}`);
    }
    const json = serialise(key, value);
    const result = await this.#store.setState({
      key,
      value_json: json,
      expect_version: expect,
      by: options.by,
      at: new Date(this.#now()).toISOString(),
      log_keep: COORDINATION.state.log_keep,
      log_value_max_bytes: LOG_VALUE_MAX_BYTES,
    });
    if (!result.written) {
      const now = result.current_version === 0 ? 'does not exist' : `is at version ${result.current_version}`;
      throw new CoordinationError('conflict', `state key ${key} ${now}, not version ${expect}: read it again and retry (state.update does this for you)`);
    }
    return { key, version: result.version };
  }

  /** The key's audit log, newest first; an unknown key has an empty log. */
  async log(key: string, limit: number): Promise<StateLogEntry[]> {
    return this.#store.listStateLog(checkKey(key), limit);
  }

  async keys(limit: number): Promise<Array<Omit<StateEntry, 'value'>>> {
    return this.#store.listStateKeys(limit);
  }
}

export function checkKey(key: string): string {
  return checkName(key, 'state key');
}

function serialise(key: string, value: unknown): string {
  if (value === undefined) throw new CoordinationError('bad_request', `value is missing: send {"value": …} (null is a value; leave nothing out)`);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new CoordinationError('bad_request', `the value of ${key} cannot be written as JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (json === undefined) throw new CoordinationError('bad_request', `the value of ${key} cannot be written as JSON (a function or undefined)`);
  const size = Buffer.byteLength(json);
  if (size > MAX_VALUE_BYTES) {
    throw new CoordinationError(
      'too_large',
      `the value of ${key} is ${formatSizeApprox(size)} of JSON, over the ${COORDINATION.state.max_value_size} limit: keep large data in files or a database and put its path or id in state`,
    );
  }
  return json;
}
