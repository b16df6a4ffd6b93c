/** Names of state keys and locks: one URL path segment in the API and one shell word in the CLI, so no '/' or spaces. */
import { COORDINATION } from '../config/defaults.ts';
import { CoordinationError } from './errors.ts';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/** `name` when it is a valid key or lock name; a 400-class error naming `what` and the fix otherwise. */
export function checkName(name: unknown, what: 'state key' | 'lock name'): string {
  const max = COORDINATION.state.max_key_length;
  if (typeof name !== 'string' || name.length === 0 || name.length > max || !NAME_PATTERN.test(name)) {
    throw new CoordinationError(
      'bad_request',
      `${what} ${JSON.stringify(name)} is not valid: use 1 to ${max} letters, digits, '.', '_', ':' and '-', starting with a letter or digit (e.g. ${what === 'lock name' ? 'publish' : 'articles.published'})`,
    );
  }
  return name;
}
