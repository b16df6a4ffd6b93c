/**
 * `nightshift doctor [--json] [--root DIR] [--fail-on critical|warning] [--min-available-memory SIZE]`: checks the
 * host (and, with a config, its jobs) and exits 1 when a finding is at or above the fail level — a deploy script's
 * gate (docs/doctor.md). Needs no config; one that is named or found is loaded, and a broken one is exit 2.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { CONFIG_FILE_NAMES, parseSize, UnitError } from '../../config/index.ts';
import type { ResolvedConfig } from '../../config/index.ts';
import { runDoctor, type Finding, type Severity } from '../../doctor/index.ts';
import { configFlag, loadCliConfig } from '../context.ts';
import { EXIT_FAILED, EXIT_OK, usageError } from '../errors.ts';
import { printJson } from '../format.ts';

interface DoctorFlags {
  json?: boolean;
  root?: string;
  failOn: string;
  minAvailableMemory?: string;
}

const RANK: Record<Severity, number> = { critical: 2, warning: 1, info: 0 };

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check this host (swap, load, memory, disk, logs, firewall, cron, systemd, clock, permissions) and the jobs; exit 1 on findings at --fail-on')
    .option('--json', 'print { ok, findings } as JSON')
    .option('--root <dir>', 'read proc/, sys/, etc/, var/ under DIR instead of /, and command output from DIR/.commands/')
    .option('--fail-on <level>', 'exit 1 when a finding is at or above this severity: critical or warning', 'critical')
    .option('--min-available-memory <size>', 'report memory.low when MemAvailable is below SIZE (e.g. 2G), instead of 10% of RAM')
    .action(async (flags: DoctorFlags, command: Command) => {
      const failOn = parseFailOn(flags.failOn);
      const minAvailableMemoryBytes = flags.minAvailableMemory === undefined ? undefined : parseMemory(flags.minAvailableMemory);
      const root = flags.root === undefined ? undefined : parseRoot(flags.root);
      const config = await optionalConfig(command);
      const report = await runDoctor({
        ...(root ? { root } : {}),
        config,
        ...(minAvailableMemoryBytes !== undefined ? { minAvailableMemoryBytes } : {}),
      });
      const failing = report.findings.some((finding) => RANK[finding.severity] >= RANK[failOn]);
      if (flags.json) printJson({ ok: !failing, findings: report.findings });
      else process.stdout.write(render(report.findings, root ?? '/', failOn));
      process.exitCode = failing ? EXIT_FAILED : EXIT_OK;
    });
}

function parseFailOn(value: string): Severity {
  if (value === 'critical' || value === 'warning') return value;
  throw usageError(`--fail-on must be critical or warning; got '${value}'`);
}

function parseMemory(value: string): number {
  try {
    return parseSize(value);
  } catch (error) {
    if (error instanceof UnitError) throw usageError(`--min-available-memory: ${error.problem}; ${error.fix}`);
    throw error;
  }
}

function parseRoot(value: string): string {
  const dir = resolve(value);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw usageError(`--root: ${dir} is not a directory; give the directory that holds the host's proc/, etc/, var/`);
  return dir;
}

/**
 * The config, when there is one: named by -c or NIGHTSHIFT_CONFIG (then it must load), or ./nightshift.yaml. No file
 * at all is fine — doctor checks the host alone.
 */
async function optionalConfig(command: Command): Promise<ResolvedConfig | null> {
  const named = configFlag(command) !== undefined || (process.env['NIGHTSHIFT_CONFIG'] ?? '') !== '';
  if (!named && !CONFIG_FILE_NAMES.some((name) => existsSync(resolve(name)))) return null;
  return loadCliConfig(command);
}

const LABEL: Record<Severity, (text: string) => string> = {
  critical: (text) => pc.bold(pc.red(text)),
  warning: (text) => pc.yellow(text),
  info: (text) => pc.dim(text),
};

function render(findings: Finding[], root: string, failOn: Severity): string {
  const host = root === '/' ? 'this host' : `the host under ${root}`;
  if (findings.length === 0) return `${pc.green('ok')}: nothing found on ${host}\n`;
  const count = (severity: Severity) => findings.filter((finding) => finding.severity === severity).length;
  const counts = (['critical', 'warning', 'info'] as const).filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}${s === 'warning' && count(s) > 1 ? 's' : ''}`);
  const blocks = findings.map((finding) => {
    const indent = (text: string) => text.split('\n').map((line) => `    ${line}`).join('\n');
    return [
      `${LABEL[finding.severity](finding.severity.toUpperCase().padEnd(8))} ${pc.bold(finding.id)}  ${finding.title}`,
      `  seen:`,
      indent(finding.detail),
      `  fix:`,
      indent(finding.fix),
    ].join('\n');
  });
  const failing = findings.some((finding) => RANK[finding.severity] >= RANK[failOn]);
  const verdict = failing ? `exit 1: something at or above ${failOn}` : `exit 0: nothing at or above ${failOn}; --fail-on warning fails on warnings too`;
  const footer = `${counts.join(', ')} on ${host} (${verdict}; silence an id with doctor: { ignore: [id] } in the config)`;
  return `${blocks.join('\n\n')}\n\n${footer}\n`;
}
