/** The `start_failure` incident: what was not found, the PATH the job had, and where that program does exist. */
import type { IncidentInput } from '../alerts/incidents.ts';
import type { JobConfig } from '../config/types.ts';
import type { Run } from '../store/types.ts';
import type { StartFailure } from './start-failure.ts';

export function startFailureIncident(
  job: JobConfig,
  run: Run,
  failure: StartFailure,
  context: { path: string; foundAt: string[]; stderr: string[] },
): IncidentInput {
  const where = context.foundAt.length
    ? `${failure.what} exists at ${context.foundAt.join(', ')}, which the job's PATH (${context.path}) does not include: use the full path in the command, or set PATH under env:`
    : failure.kind === 'library'
      ? `install ${failure.what} for the interpreter the job runs (check which one with \`command -v\` under the job's PATH and user)`
      : `${failure.what} is not installed anywhere nightshift looked; install it, or fix the command`;
  return {
    kind: 'start_failure',
    subject: job.name,
    summary: `job ${job.name} cannot start: ${failure.summary}`,
    detail: {
      since: run.started_at ?? run.scheduled_at,
      run_id: run.id,
      path: context.path,
      found_at: context.foundAt,
      missing: failure.what,
      stderr_tail: context.stderr,
      fix: `${where}. It is not retried; it starts again after a config reload (SIGHUP) or \`nightshift resume ${job.name}\`.`,
    },
  };
}
