/** What a late or failed check tells a human: the incident's kind, one-line summary and detail. */
import type { IncidentInput } from '../alerts/incidents.ts';
import type { CheckRecord, IncidentKind, Ping } from '../store/types.ts';
import { humanDuration, iso } from '../util/time.ts';
import type { CheckView } from './check-state.ts';

/** Kinds a success resolves. */
export function recoveredKinds(check: CheckRecord): IncidentKind[] {
  return check.origin === 'job' ? ['job_late', 'run_failed'] : ['check_down'];
}

export function lateIncident(check: CheckRecord, view: CheckView, lastPing: Ping | null, nowMs: number): IncidentInput {
  const lastSuccess = check.last_success_at;
  const since = check.down_since ?? (view.dueAt !== null ? iso(view.dueAt) : iso(nowMs));
  const lastPingDetail = lastPing
    ? { kind: lastPing.kind, at: lastPing.created_at, exit_code: lastPing.exit_code, body: lastPing.body }
    : null;
  const successText = lastSuccess ? `last success ${humanDuration(nowMs - Date.parse(lastSuccess))} ago (${lastSuccess})` : 'no success on record';

  if (check.origin === 'job') {
    return {
      kind: 'job_late',
      subject: check.name,
      summary: `job ${check.name} has not succeeded when it should have: ${successText}`,
      detail: {
        since,
        last_ping: lastPingDetail,
        fix: `see why with \`nightshift history ${check.name}\` and \`nightshift logs ${check.name}\`; \`nightshift run ${check.name}\` runs it now`,
      },
    };
  }
  const failed = check.status === 'down' && lastPing !== null && (lastPing.kind === 'fail' || (lastPing.kind === 'exit' && lastPing.exit_code !== 0));
  return {
    kind: 'check_down',
    subject: check.name,
    summary: failed
      ? `check ${check.name} reported a failure${lastPing?.kind === 'exit' ? ` (exit ${lastPing.exit_code})` : ''}`
      : `check ${check.name} is down: no ping since ${check.last_ping_at ?? check.created_at}; ${successText}`,
    detail: {
      since,
      last_ping: lastPingDetail,
      fix: failed
        ? `the script pinging ${check.name} reported the failure; its output is in the ping body above`
        : `the script that pings ${check.name} did not run or did not finish: check its crontab line or timer, and its logs`,
    },
  };
}
