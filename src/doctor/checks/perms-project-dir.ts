/**
 * perms.project_dir (warning): a project directory (one holding a `.env`, the config's directory, a job's cwd) that
 * group or others can get into. Seed 000: with a shared deploy user and lax modes on /opt, one project's cron line
 * overwrote another project's `.env`. Each project: its own user, its directory 0700.
 */
import type { Check, PathMode } from '../types.ts';
import { describeAccess, exposed, octal, q, userName } from './util.ts';

export const checkProjectDirs: Check = (snapshot) => {
  // A job's cwd may be a shared system directory (/tmp, /usr/local/bin): only directories a project owns are judged.
  const dirs = snapshot.projectDirs.filter((dir) => exposed(dir) && !isSystemDir(dir.path));
  return dirs.map((dir: PathMode) => ({
    id: 'perms.project_dir',
    severity: 'warning' as const,
    title: `project directory ${dir.path} is open to ${(dir.mode & 0o007) !== 0 ? 'other users' : 'its group'}`,
    detail: `${dir.path}: mode ${octal(dir.mode)}, owner ${userName(snapshot.users, dir.uid)}; ${describeAccess(dir.mode)}`,
    fix: [`chmod 700 ${q(dir.path)}`, `# and give each project its own user:  useradd -r -d ${q(dir.path)} -s /usr/sbin/nologin <project> && chown -R <project>: ${q(dir.path)}`].join('\n'),
  }));
};

function isSystemDir(path: string): boolean {
  return path === '/' || /^\/(tmp|var\/tmp|usr|bin|sbin|etc|lib|lib64|home|opt|srv|var|root|dev|run)$/.test(path) || path.startsWith('/usr/');
}
