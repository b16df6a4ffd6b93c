/** Which checks the config asks for, and how each one's due time is computed. Pure: the watcher and `status` share it. */
import { CREATED_CHECK } from '../config/defaults.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { parseDuration } from '../config/units.ts';
import type { CheckRecord, CheckSpec } from '../store/types.ts';
import { evaluateCheck, planFromSchedule, type CheckPlan, type CheckView } from './check-state.ts';

/** Every scheduled job owns a check of its name; `checks:` adds the outside ones. */
export function configuredChecks(config: ResolvedConfig): { specs: CheckSpec[]; plans: Map<string, CheckPlan> } {
  const specs: CheckSpec[] = [];
  const plans = new Map<string, CheckPlan>();
  for (const job of Object.values(config.jobs)) {
    if (job.kind !== 'scheduled' || job.schedule === null) continue;
    specs.push({ name: job.name, origin: 'job', uuid: null });
    plans.set(job.name, planFromSchedule(job.schedule, job.timezone, job.graceMs));
  }
  for (const check of Object.values(config.checks)) {
    specs.push({ name: check.name, origin: 'config', uuid: check.uuid });
    plans.set(
      check.name,
      check.schedule !== null
        ? planFromSchedule(check.schedule, check.timezone, check.graceMs)
        : { kind: 'every', everyMs: check.everyMs ?? parseDuration(CREATED_CHECK.every), graceMs: check.graceMs },
    );
  }
  return { specs, plans };
}

/** A check made by a `?create=1` ping: its own period and grace, Healthchecks.io's defaults otherwise. */
export function createdPlan(record: CheckRecord): CheckPlan {
  return {
    kind: 'every',
    everyMs: record.every_ms ?? parseDuration(CREATED_CHECK.every),
    graceMs: record.grace_ms ?? parseDuration(CREATED_CHECK.grace),
  };
}

/** Each stored check with its state at `nowMs`, under `plans` (a check not in them is a created one). */
export function viewChecks(records: CheckRecord[], plans: Map<string, CheckPlan>, nowMs: number): Array<{ record: CheckRecord; view: CheckView }> {
  return records.map((record) => ({ record, view: evaluateCheck(record, plans.get(record.name) ?? createdPlan(record), nowMs) }));
}
