/**
 * What coordination refuses, with a stable code the HTTP layer maps to a status (400 bad_request, 404 unknown_key,
 * 409 conflict, 413 too_large) and the CLI to an exit code. Messages name the field and the fix.
 */
export type CoordinationErrorCode = 'bad_request' | 'unknown_key' | 'conflict' | 'too_large' | 'not_held';

const COORDINATION_ERROR = Symbol.for('nightshift.CoordinationError');

export class CoordinationError extends Error {
  override readonly name = 'CoordinationError';
  readonly code: CoordinationErrorCode;
  readonly [COORDINATION_ERROR] = true;

  constructor(code: CoordinationErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function isCoordinationError(value: unknown): value is CoordinationError {
  return typeof value === 'object' && value !== null && COORDINATION_ERROR in value;
}
