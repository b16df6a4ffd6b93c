/**
 * perms.env_file (warning): an env file (secrets: API keys, database URLs) that group or others can read or write,
 * or that is owned by another user than its project directory — what a cross-project overwrite leaves behind
 * (seed 000: project A's cron overwrote B's `.env` and left it owned by A's user).
 */
import { posix } from 'node:path';
import type { Check, Finding } from '../types.ts';
import { describeAccess, exposed, octal, q, userName } from './util.ts';

export const checkEnvFiles: Check = (snapshot) => {
  const findings: Finding[] = [];
  const dirOwner = new Map(snapshot.projectDirs.map((dir) => [dir.path, dir.uid]));
  for (const file of snapshot.envFiles) {
    const owner = dirOwner.get(posix.dirname(file.path));
    const foreign = owner !== undefined && owner !== file.uid && file.uid !== 0;
    if (!exposed(file) && !foreign) continue;
    const problems = [
      ...(exposed(file) ? [`mode ${octal(file.mode)}: ${describeAccess(file.mode)}`] : []),
      ...(foreign ? [`owned by ${userName(snapshot.users, file.uid)}, but its directory by ${userName(snapshot.users, owner)}`] : []),
    ];
    findings.push({
      id: 'perms.env_file',
      severity: 'warning',
      title: `env file ${file.path} ${exposed(file) ? 'is readable beyond its owner' : 'belongs to another user'}`,
      detail: `${file.path}: ${problems.join('; ')}`,
      fix: [
        ...(foreign ? [`check its content first (another project may have written it), then:  chown ${userName(snapshot.users, owner ?? null)}: ${q(file.path)}`] : []),
        `chmod 600 ${q(file.path)}`,
      ].join('\n'),
    });
  }
  return findings;
};
