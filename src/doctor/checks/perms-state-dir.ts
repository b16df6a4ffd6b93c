/**
 * perms.state_dir (warning): nightshift's state directory (state.db, logs, the API token) open to group or others.
 * `nightshift init` creates it 0700; a copy, an untar or a chmod -R can widen it.
 */
import type { Check } from '../types.ts';
import { describeAccess, octal, q, userName } from './util.ts';

export const checkStateDir: Check = (snapshot) => {
  const dir = snapshot.stateDir;
  if (dir === null || (dir.mode & 0o077) === 0) return [];
  return [{
    id: 'perms.state_dir',
    severity: 'warning',
    title: `state directory ${dir.path} is open to ${(dir.mode & 0o007) !== 0 ? 'other users' : 'its group'}`,
    detail: `${dir.path}: mode ${octal(dir.mode)}, owner ${userName(snapshot.users, dir.uid)}; ${describeAccess(dir.mode)}. It holds the run history, job output and the API token`,
    fix: `chmod -R go-rwx ${q(dir.path)}`,
  }];
};
