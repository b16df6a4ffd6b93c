import type { Command } from 'commander';
import pc from 'picocolors';
import { configFlag, loadCliConfig } from '../context.ts';
import { quickDaemonStatus } from '../daemon-status.ts';
import { printJson, relativeTime, runOutcome, table } from '../format.ts';
import { humanDuration } from '../../util/time.ts';
import type { StatusJson } from '../../status/build-status.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("every job's state, next and last run; works with or without the daemon")
    .option('--json', 'print the status document as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const show = (status: StatusJson): void => {
        if (options.json) printJson(status);
        else process.stdout.write(`${render(status)}\n`);
      };
      // The daemon's own document when it runs the file as it is now (no config loading here); else as before.
      const quick = await quickDaemonStatus({ explicit: configFlag(command), env: process.env, cwd: process.cwd() });
      if (quick) return show(quick);
      const config = await loadCliConfig(command);
      // Imported here: the daemon's answer above needs none of it (node:crypto alone is ~5 ms of loading).
      const backend = await (await import('../backend.ts')).connect(config);
      try {
        show(await backend.status());
      } finally {
        await backend.close();
      }
    });
}

function render(status: StatusJson): string {
  const header = status.daemon
    ? `daemon ${pc.green('running')}: pid ${status.daemon.pid}, v${status.daemon.version}, up since ${relativeTime(status.daemon.started_at)}`
    : `daemon ${pc.yellow('not running')} (showing the stored history; start it with \`nightshift up\`)`;
  // Several nodes (PostgreSQL): who leads, and where each job's last or running run is.
  const cluster = status.nodes.some((n) => n.name !== status.daemon?.node) || (status.daemon !== null && !status.daemon.leader);
  const nodeLine = cluster && status.daemon ? `\nthis node: ${status.daemon.node} (${status.daemon.leader ? 'leader' : 'follower'})` : '';
  if (status.jobs.length === 0) return `${header}${nodeLine}\nno jobs configured`;
  const rows = [['JOB', 'KIND', 'STATE', 'NEXT', 'LAST RUN', 'RESULT', 'DURATION', ...(cluster ? ['NODE'] : [])]];
  for (const job of status.jobs) {
    const last = job.last_run;
    rows.push([
      job.name,
      job.kind,
      // A queue-driven job runs up to its queue's concurrency at once: say how many.
      job.state === 'running' && job.running_runs > 1 ? `running (${job.running_runs})` : job.state,
      relativeTime(job.next_run_at),
      last ? relativeTime(last.ended_at ?? last.started_at ?? last.scheduled_at) : '-',
      last ? runOutcome(last) : '-',
      last?.duration_ms != null ? humanDuration(last.duration_ms) : '-',
      ...(cluster ? [last?.node ?? '-'] : []),
    ]);
  }
  const sections = [header + nodeLine, table(rows)];
  if (cluster) {
    const nodeRows = [['NODE', 'ROLE', 'LAST SEEN', 'RUNNING']];
    for (const node of status.nodes) nodeRows.push([node.name, node.leader ? 'leader' : 'follower', relativeTime(node.last_seen_at), String(node.running)]);
    sections.push(table(nodeRows));
  }
  if (status.checks.length) {
    const checkRows = [['CHECK', 'STATE', 'LAST PING', 'DUE']];
    for (const check of status.checks) checkRows.push([check.name, check.state, relativeTime(check.last_ping_at), relativeTime(check.next_due_at)]);
    sections.push(table(checkRows));
  }
  const notes: string[] = [];
  if (status.incidents_open) notes.push(pc.red(`${status.incidents_open} open incident${status.incidents_open === 1 ? '' : 's'}: \`nightshift incidents\``));
  for (const channel of status.channels.filter((c) => c.failing)) notes.push(pc.red(`channel ${channel.name} is failing (${channel.pending} waiting): ${channel.last_error ?? 'unknown error'}`));
  if (notes.length) sections.push(notes.join('\n'));
  return sections.join('\n\n');
}
