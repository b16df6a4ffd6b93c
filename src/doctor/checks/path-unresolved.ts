/**
 * path.unresolved (warning): a configured job whose command, or its script's `#!` interpreter, is not found on the
 * PATH the job will have, or whose working directory does not exist. Seed 003: a service's PATH found system Ruby
 * 2.6 before the right one, and it crashed 3,751 times; the monitor had the same PATH and died too. A job's PATH is
 * its `env: { PATH }`, else its env_file's PATH, else what a daemon started by systemd has.
 */
import type { Check, Finding, JobFacts } from '../types.ts';

export const checkPaths: Check = (snapshot) => {
  const findings: Finding[] = [];
  for (const job of snapshot.jobs) {
    if (job.cwd === null) {
      findings.push({
        id: 'path.unresolved',
        severity: 'warning',
        title: `job ${job.name}: its working directory does not exist`,
        detail: `job ${job.name} (${job.command}): cwd not found`,
        fix: `create it or fix jobs.${job.name}.cwd in the config`,
      });
    }
    for (const missing of job.unresolved) findings.push(finding(job, missing));
  }
  return findings;
};

function finding(job: JobFacts, missing: JobFacts['unresolved'][number]): Finding {
  const where = { env: `jobs.${job.name}.env`, env_file: `its env_file`, service: 'the PATH a systemd service has' }[job.path.from];
  const seen = [
    `job ${job.name} (${job.command}): '${missing.program}' is not found on PATH=${job.path.value} (${where})`,
    ...(missing.onShellPath ? [`your shell finds it at ${missing.onShellPath}, but the daemon's jobs do not get your shell's PATH`] : []),
    ...(missing.foundElsewhere.length ? [`it exists at: ${missing.foundElsewhere.join(', ')}`] : []),
  ];
  const at = missing.onShellPath ?? missing.foundElsewhere[0];
  const dir = at ? at.slice(0, at.lastIndexOf('/')) : null;
  const fix = missing.program.includes('/')
    ? [`fix the path in jobs.${job.name}.command (relative paths are from the job's cwd), or make it executable: chmod +x <file>`]
    : dir
      ? [`give the job that directory first on its PATH:`, `  jobs:`, `    ${job.name}:`, `      env: { PATH: "${dir}:${job.path.value}" }`, `or use the absolute path ${at} in the command`]
      : [`install ${missing.program}, or use its absolute path in jobs.${job.name}.command`];
  return {
    id: 'path.unresolved',
    severity: 'warning',
    title: `job ${job.name}: '${missing.program}' is not on the PATH it will run with`,
    detail: seen.join('\n'),
    fix: fix.join('\n'),
  };
}
