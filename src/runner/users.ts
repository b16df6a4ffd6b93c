/**
 * Resolves a job's `user:` to the uid/gid the runner switches to, from `<etcRoot>/passwd`.
 *
 * Read by hand rather than through `id`/getent: it is one small file, it keeps the lookup testable with a fixture
 * `etc/` tree, and the runner must never spawn a helper just to start a run. Synchronous because the file is tiny and
 * the scheduler resolves the user in the same step that builds the rest of the spec. NSS sources other than
 * /etc/passwd (LDAP, systemd-homed) are not consulted; such users can be given as a numeric uid.
 *
 * Errors say what to do, and name the job (DESIGN.md, "Errors").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ResolvedUser {
  name: string;
  uid: number;
  /** The primary group, from the passwd entry. Supplementary groups are not applied (Node's spawn drops them). */
  gid: number;
  home: string;
  shell: string;
}

export interface ResolveUserOptions {
  /** Directory holding `passwd`; default '/etc'. */
  etcRoot?: string;
  /** Whether the daemon runs as root; default: process.getuid() === 0. */
  isRoot?: boolean;
  /** The daemon's own uid, for the message and for "run as myself"; default process.getuid(). */
  daemonUid?: number;
  /** The job asking, named in the error. */
  job?: string;
}

export type UserErrorCode = 'unknown_user' | 'needs_root';

export class UserResolveError extends Error {
  readonly code: UserErrorCode;

  constructor(code: UserErrorCode, message: string) {
    super(message);
    this.name = 'UserResolveError';
    this.code = code;
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Parses passwd lines `name:x:uid:gid:gecos:home:shell`, skipping comments, NIS `+`/`-` lines and malformed ones. */
export function parsePasswd(content: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of content.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const [name, , uid, gid, , home, shell] = line.split(':');
    if (!name || uid === undefined || gid === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    entries.push({ name, uid: Number(uid), gid: Number(gid), home: home || '/', shell: shell || '/bin/sh' });
  }
  return entries;
}

/**
 * `name` is a user name or a numeric uid. A numeric uid missing from passwd is accepted as-is, with gid = uid,
 * home '/' and shell '/bin/sh' (as container runtimes do), because an explicit number is a deliberate choice.
 */
export function resolveUser(name: string, opts: ResolveUserOptions = {}): ResolvedUser {
  const etcRoot = opts.etcRoot ?? '/etc';
  const passwdPath = join(etcRoot, 'passwd');
  const daemonUid = opts.daemonUid ?? process.getuid?.() ?? -1;
  const isRoot = opts.isRoot ?? daemonUid === 0;
  const jobPart = opts.job !== undefined ? `job ${opts.job}` : 'the job';

  let entries: PasswdEntry[] = [];
  try {
    entries = parsePasswd(readFileSync(passwdPath, 'utf8'));
  } catch {
    // A missing passwd file leaves only numeric uids resolvable; the unknown-user error below says where we looked.
  }

  const numeric = /^\d+$/.test(name);
  const entry = numeric ? entries.find((e) => e.uid === Number(name)) : entries.find((e) => e.name === name);
  let user: ResolvedUser;
  if (entry !== undefined) {
    user = { ...entry };
  } else if (numeric) {
    user = { name, uid: Number(name), gid: Number(name), home: '/', shell: '/bin/sh' };
  } else {
    throw new UserResolveError(
      'unknown_user',
      `user '${name}' does not exist on this host (looked in ${passwdPath}); ` +
        `create it with \`useradd --system --create-home ${name}\` or remove \`user:\` from ${jobPart}`,
    );
  }

  // Switching to another uid needs root. Running "as yourself" does not, so a non-root daemon may name its own user.
  if (!isRoot && user.uid !== daemonUid) {
    throw new UserResolveError(
      'needs_root',
      `running jobs as another user needs the daemon to run as root (it runs as uid ${daemonUid}); ` +
        `start it as root or remove \`user:\` from ${jobPart}`,
    );
  }
  return user;
}
