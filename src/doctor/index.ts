/**
 * `nightshift doctor`: what on this host will hurt the jobs — resources, logs, firewall, cron, systemd, clock,
 * permissions, and with a config the jobs themselves. The snapshot is collected once; each check is a pure function
 * of it (checks/); docs/doctor.md lists every finding id.
 */
import { CHECKS } from './checks/index.ts';
import { collectSnapshot, type SnapshotOptions } from './snapshot.ts';
import type { DoctorReport, Finding, HostSnapshot, CheckContext } from './types.ts';
import type { ResolvedConfig } from '../config/types.ts';

export type { DoctorReport, Finding, Severity, HostSnapshot } from './types.ts';
export { HOST_COMMANDS, COMMANDS_DIR } from './commands.ts';

export interface DoctorOptions {
  /** Read the host under this directory (fixture hosts); default `/`. */
  root?: string;
  /** With a config, the jobs are checked too and `doctor.ignore` applies. */
  config?: ResolvedConfig | null;
  /** `--min-available-memory`: memory.low below this instead of 10% of RAM. */
  minAvailableMemoryBytes?: number;
  now?: Date;
  /** Where command output comes from (tests); default live commands, or DIR/.commands/ under a root. */
  commands?: SnapshotOptions['commands'];
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const snapshot = await collectSnapshot({
    root: options.root ?? '/',
    config: options.config ?? null,
    ...(options.now ? { now: options.now } : {}),
    ...(options.commands ? { commands: options.commands } : {}),
  });
  return reportFor(snapshot, { minAvailableMemoryBytes: options.minAvailableMemoryBytes ?? null }, options.config?.doctor.ignore ?? []);
}

/** Runs every check over a snapshot; a check that throws is a bug, reported as a finding rather than a crash. */
export function reportFor(snapshot: HostSnapshot, context: CheckContext, ignore: readonly string[]): DoctorReport {
  const findings: Finding[] = [];
  for (const check of CHECKS) {
    try {
      findings.push(...check(snapshot, context));
    } catch (error) {
      findings.push({
        id: 'doctor.check_failed',
        severity: 'info',
        title: `a doctor check failed: ${check.name}`,
        detail: error instanceof Error ? error.message : String(error),
        fix: 'report this as a nightshift bug, with the detail above',
      });
    }
  }
  const kept = findings.filter((finding) => !ignore.includes(finding.id));
  kept.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return { ok: !kept.some((finding) => finding.severity === 'critical'), findings: kept };
}
