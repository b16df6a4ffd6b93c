/**
 * process.duplicate (warning): the same worker running twice. Seed 001: a hand-started ingestion worker ran for eight
 * days beside the systemd-managed one, both eating the one CPU and working on the same data.
 *
 * Two ways to be found:
 * - with a config, a job's command running outside nightshift (no run marker), matched as the daemon's duplicate
 *   watch matches it (src/watch/duplicate-match.ts): once nightshift runs the job, there are two;
 * - on any host, an interpreted worker (`python3 worker.py`, `node app.js`, `bash loop.sh`…) with the same command
 *   line in two independent processes. Not independent, so not reported: a copy whose ancestor is another copy, or
 *   siblings of one parent other than init (pre-fork pools: gunicorn, php-fpm, PM2 cluster, multiprocessing), or
 *   instances of one systemd template (worker@1, worker@2), or copies that all are nightshift runs.
 */
import { posix } from 'node:path';
import { displayArgv, matchJob } from '../../watch/duplicate-match.ts';
import type { Check, Finding, HostProcess, HostSnapshot } from '../types.ts';
import { userName } from './util.ts';

const INTERPRETER = /^(python[\d.]*|pypy[\d.]*|node(js)?|bun|deno|ruby[\d.]*|perl[\d.]*|php[\d.]*|java|bash|sh|dash|zsh)$/;
const SHELLS = /^(bash|sh|dash|zsh)$/;

export const checkDuplicates: Check = (snapshot) => {
  const processes = snapshot.processes ?? [];
  const findings: Finding[] = [];
  const reported = new Set<number>();
  for (const job of snapshot.duplicateJobs) {
    const copies = processes.filter((p) => p.marked === false && matchJob(job, p.argv, p.cwd) === 'match');
    if (copies.length === 0) continue;
    for (const p of copies) reported.add(p.pid);
    findings.push({
      id: 'process.duplicate',
      severity: 'warning',
      title: `job ${job.name}: ${copies.length === 1 ? 'a copy is' : `${copies.length} copies are`} running outside nightshift`,
      detail: copies.map((p) => describe(snapshot, p)).join('\n'),
      fix: fixFor(copies, `then let nightshift be the only thing that starts job ${job.name}: remove its crontab line, systemd unit or PM2 entry`),
    });
  }
  const groups = new Map<string, HostProcess[]>();
  for (const p of processes) {
    if (reported.has(p.pid) || !isWorker(p)) continue;
    const key = groupKey(p);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  for (const group of groups.values()) {
    const copies = independent(group, processes);
    if (copies.length < 2 || copies.every((p) => p.marked === true)) continue;
    findings.push({
      id: 'process.duplicate',
      severity: 'warning',
      title: `${copies.length} copies of the same worker are running: ${truncate(displayArgv(copies[0]!.argv))}`,
      detail: copies.map((p) => describe(snapshot, p)).join('\n'),
      fix: fixFor(copies, 'then keep one way of starting it (one systemd unit, or one nightshift job with overlap: skip)'),
    });
  }
  return findings;
};

function isWorker(p: HostProcess): boolean {
  const program = posix.basename(p.argv[0] ?? '');
  if (!INTERPRETER.test(program) || p.argv.length < 2) return false;
  // A shell only counts when it runs a script file (`bash loop.sh`), not an interactive or `-c` shell.
  // Nor a script read from a pipe or a descriptor (`bash /dev/fd/3`, process substitution): that names no file.
  const script = p.argv[1] ?? '-';
  if (/^\/(dev|proc)\//.test(script)) return false;
  return !SHELLS.test(program) || !script.startsWith('-');
}

/**
 * What makes two processes the same worker: the argv with relative paths resolved against each one's directory. When
 * some argument is a bare word (`worker.py`, `up`, `-m celery`), the same argv in two directories is two projects'
 * workers, not one worker twice: the directory is then part of the key.
 */
function groupKey(p: HostProcess): string {
  const args = p.argv.slice(1);
  const resolved = args.map((arg) => (p.cwd && !arg.startsWith('-') && arg.includes('/') ? posix.resolve(p.cwd, arg) : arg));
  const bare = resolved.some((arg) => !arg.startsWith('-') && !arg.startsWith('/'));
  return [posix.basename(p.argv[0] ?? ''), ...resolved, ...(bare ? [`cwd=${p.cwd ?? '?'}`] : [])].join('\0');
}

/** The copies left once pre-fork children, pool siblings and template instances are folded into one. */
function independent(group: HostProcess[], all: HostProcess[]): HostProcess[] {
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const inGroup = new Set(group.map((p) => p.pid));
  const rootOf = (p: HostProcess): number => {
    let top = p;
    for (let depth = 0, parent = byPid.get(p.ppid); parent && depth < 16; depth++, parent = byPid.get(parent.ppid)) if (inGroup.has(parent.pid)) top = parent;
    return top.pid;
  };
  const kept = new Map<string, HostProcess>();
  for (const p of group) {
    const top = byPid.get(rootOf(p)) ?? p;
    const template = top.unit ? /^(.+)@[^@]*\.service$/.exec(top.unit)?.[1] : undefined;
    const key = template ? `unit:${template}` : top.ppid > 1 ? `parent:${top.ppid}` : `pid:${top.pid}`;
    if (!kept.has(key)) kept.set(key, top);
  }
  return [...kept.values()].sort((a, b) => a.pid - b.pid);
}

function describe(snapshot: HostSnapshot, p: HostProcess): string {
  const how = p.unit ? `systemd unit ${p.unit}` : p.ppid === 1 ? 'parent init (started by hand and detached, or a unit)' : `parent pid ${p.ppid}`;
  return `pid ${p.pid} (user ${userName(snapshot.users, p.uid)}, ${how}${p.cwd ? `, cwd ${p.cwd}` : ''}): ${truncate(displayArgv(p.argv))}`;
}

function fixFor(copies: HostProcess[], then: string): string {
  const units = [...new Set(copies.flatMap((p) => (p.unit ? [p.unit] : [])))];
  return [
    `decide which copy stays; stop the others by pid:  kill ${copies.map((p) => p.pid).join(' ')}    # (list only the ones to stop)`,
    ...units.map((unit) => `a copy run by ${unit}:  systemctl disable --now ${unit}`),
    then,
  ].join('\n');
}

function truncate(text: string): string {
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}
