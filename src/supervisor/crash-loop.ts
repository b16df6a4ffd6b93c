/** The `crash_loop` incident: the exit codes of the quick failures and the last lines of stderr. */
import type { IncidentInput } from '../alerts/incidents.ts';
import type { JobConfig } from '../config/types.ts';
import type { Run } from '../store/types.ts';
import { humanDuration } from '../util/time.ts';

export function crashLoopIncident(job: JobConfig, last: Run, quick: readonly Run[], stderr: string[], since: string): IncidentInput {
  const exitCodes = quick.map((r) => r.exit_code ?? -1).reverse();
  const how = last.exit_code !== null ? `exit ${last.exit_code}` : last.signal ? `signal ${last.signal}` : last.status;
  return {
    kind: 'crash_loop',
    subject: job.name,
    summary: `service ${job.name} failed ${quick.length} times in a row within ${humanDuration(job.minUptimeMs)} of starting (last: ${how}); restarting only every ${humanDuration(job.restartBackoff.maxMs)}`,
    detail: {
      since,
      run_id: last.id,
      exit_codes: exitCodes,
      stderr_tail: stderr,
      fix: `read the error above and \`nightshift logs ${job.name}\`, fix the cause; it clears by itself once a start stays up ${humanDuration(job.minUptimeMs)} (or \`nightshift resume ${job.name}\` to retry now)`,
    },
  };
}
