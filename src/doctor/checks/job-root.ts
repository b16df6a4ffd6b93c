/**
 * job.root (warning): a configured job that will run as root — `user: root`, or no `user:` with a daemon running as
 * root. A root job can overwrite any project's files (seed 000) and leaves root-owned files its real user cannot
 * touch later.
 */
import type { Check } from '../types.ts';

export const checkRootJobs: Check = (snapshot) => {
  const daemonIsRoot = snapshot.daemonUid === 0;
  const root = snapshot.jobs.filter((job) => job.user === 'root' || (job.user === null && daemonIsRoot));
  if (root.length === 0) return [];
  const names = root.map((job) => job.name);
  return [{
    id: 'job.root',
    severity: 'warning',
    title: `${root.length} job${root.length === 1 ? '' : 's'} will run as root: ${names.join(', ')}`,
    detail: root.map((job) => `job ${job.name}: ${job.user === 'root' ? 'user: root' : 'no user:, and the daemon runs as root'}`).join('\n'),
    fix: [
      'create a user for the project and run the jobs as it:',
      '  useradd -r -s /usr/sbin/nologin -d <project dir> <project>',
      '  chown -R <project>: <project dir>',
      ...names.map((name) => `  jobs.${name}.user: <project>`),
    ].join('\n'),
  }];
};
