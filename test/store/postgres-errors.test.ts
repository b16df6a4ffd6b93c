/**
 * What the PostgreSQL store makes of what pg throws: each error a caller branches on gets its StoreError code, and
 * every message names the database with its password masked. A table of real pg error shapes (SQLSTATE codes, Node
 * network errors, pg's own client-side messages); no database needed.
 */
import { describe, expect, it } from 'vitest';
import { translatePgError } from '../../src/store/postgres/connection.ts';

const URL = 'postgres://nightshift:s3cret@db.internal:5432/nightshift';

function pgError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('translatePgError', () => {
  const cases: Array<[string, Error, string, RegExp]> = [
    ['a unique violation', pgError('duplicate key value violates unique constraint "runs_pkey"', '23505'), 'conflict', /duplicate key/],
    ['a statement the server cancelled', pgError('canceling statement due to statement timeout', '57014'), 'busy', /did not finish a statement in time/],
    ['a lock not available', pgError('could not obtain lock on row', '55P03'), 'busy', /another node or a long query/],
    ['a refused connection', pgError('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED'), 'cannot_open', /cannot reach .*check that PostgreSQL is running/],
    ['a server shutting down', pgError('terminating connection due to administrator command', '57P01'), 'cannot_open', /cannot reach/],
    ['a server that stopped answering (query_timeout)', pgError('Query read timeout'), 'cannot_open', /cannot reach .*Query read timeout/],
    ['a connection ended mid-query', pgError('Connection terminated unexpectedly'), 'cannot_open', /cannot reach/],
    ['a wrong password', pgError('password authentication failed for user "nightshift"', '28P01'), 'cannot_open', /check the user and password/],
    ['a missing database', pgError('database "nightshift" does not exist', '3D000'), 'cannot_open', /create the database first/],
    ['max_connections used up', pgError('sorry, too many clients already', '53300'), 'cannot_open', /max_connections is used up/],
    ['a read-only transaction', pgError('cannot execute INSERT in a read-only transaction', '25006'), 'readonly', /opened read-only/],
    ['anything else', pgError('something odd', 'XX000'), 'internal', /something odd/],
  ];
  for (const [what, error, code, message] of cases) {
    it(`${what} → ${code}`, () => {
      const translated = translatePgError(error, URL);
      expect(translated.code).toBe(code);
      expect(translated.message).toMatch(message);
      expect(translated.message).not.toContain('s3cret');
    });
  }
});
