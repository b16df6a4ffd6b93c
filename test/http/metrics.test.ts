/**
 * /metrics: the exposition carries the documented series with the right values, escapes odd job names, and passes
 * `promtool check metrics` (Prometheus' own parser and linter) with no complaint.
 */
import { promtoolCheck } from '../helpers/promtool.ts';
import { describe, expect, it } from 'vitest';
import { Metrics, type MetricsSource } from '../../src/http/metrics.ts';
import type { CheckState, Run } from '../../src/store/types.ts';
import { VERSION } from '../../src/version.ts';

/** A quote, a backslash and a newline: everything the text format has to escape in a label value. */
const ODD_JOB = 'say "hi" C:\\tmp\nnext';

/** A source whose answers the test changes between scrapes. */
function makeSource() {
  const data = {
    checks: [
      { name: 'backup', state: 'up' },
      { name: 'scan', state: 'down' },
      { name: 'writer', state: 'new' },
    ] as Array<{ name: string; state: CheckState }>,
    incidents: [{ kind: 'check_down', count: 2 }],
    backlog: 3,
    jobs: [
      { name: 'scan', state: 'running' },
      { name: ODD_JOB, state: 'idle' },
      { name: 'chat', state: 'crash_loop' },
    ],
    lagSeconds: 0.004,
  };
  const source: MetricsSource = {
    checkStates: async () => data.checks,
    openIncidents: async () => data.incidents,
    outboxBacklog: async () => data.backlog,
    jobStates: async () => data.jobs,
    eventLoopLagSeconds: () => data.lagSeconds,
  };
  return { data, source };
}

function run(job: string, status: Run['status'], reason: Run['reason'], duration_ms: number | null): Run {
  return {
    id: `01J${Math.random().toString(36).slice(2)}`, job, attempt: 1, status, reason, trigger: 'schedule',
    exit_code: status === 'succeeded' ? 0 : null, signal: null, scheduled_at: '2025-01-01T00:00:00.000Z',
    started_at: duration_ms === null ? null : '2025-01-01T00:00:00.000Z', ended_at: '2025-01-01T00:00:01.000Z',
    duration_ms, pid: null, degraded: null, orphans_killed: 0, node: 'test', chain_id: 'c', error: null, heartbeat_at: null, retry_after_at: null,
  };
}

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the sample lines of the text format, undoing its label-value escapes (\\, \", \n). */
function parseExposition(body: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;
    const block = match[2] ?? '';
    for (let m = labelRe.exec(block); m; m = labelRe.exec(block)) {
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    if (labelRe.lastIndex !== 0 && labelRe.lastIndex !== block.length) throw new Error(`bad labels in: ${line}`);
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const pick = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = pick(samples, name, labels);
  if (found.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}

/** A Metrics that has seen a few runs: several statuses and reasons, one skipped (no duration), one odd name. */
async function scrapedMetrics() {
  const { data, source } = makeSource();
  const metrics = new Metrics(source);
  metrics.observeRunEnded(run('scan', 'succeeded', null, 1_500));
  metrics.observeRunEnded(run('scan', 'succeeded', null, 2_500));
  metrics.observeRunEnded(run('scan', 'timed_out', 'timeout', 600_000));
  metrics.observeRunEnded(run('scan', 'skipped', 'overlap', null));
  metrics.observeRunEnded(run('chat', 'failed', 'crash_loop', 80));
  metrics.observeRunEnded(run(ODD_JOB, 'killed', 'stalled', 7_200_000));
  const rendered = await metrics.render();
  return { data, metrics, rendered, samples: parseExposition(rendered.body) };
}

describe('Metrics', () => {
  it('counts ended runs by job, status and reason, and times the ones that started', async () => {
    const { samples } = await scrapedMetrics();
    expect(valueOf(samples, 'nightshift_runs_total', { job_name: 'scan', status: 'succeeded', reason: '' })).toBe(2);
    expect(valueOf(samples, 'nightshift_runs_total', { job_name: 'scan', status: 'timed_out', reason: 'timeout' })).toBe(1);
    expect(valueOf(samples, 'nightshift_runs_total', { job_name: 'scan', status: 'skipped', reason: 'overlap' })).toBe(1);
    expect(valueOf(samples, 'nightshift_runs_total', { job_name: 'chat', status: 'failed', reason: 'crash_loop' })).toBe(1);

    // The skipped run never started, so it has no duration: 3 observations for scan, not 4.
    expect(valueOf(samples, 'nightshift_run_duration_seconds_count', { job_name: 'scan' })).toBe(3);
    expect(valueOf(samples, 'nightshift_run_duration_seconds_sum', { job_name: 'scan' })).toBe(604);
    expect(valueOf(samples, 'nightshift_run_duration_seconds_bucket', { job_name: 'scan', le: '5' })).toBe(2);
    expect(valueOf(samples, 'nightshift_run_duration_seconds_bucket', { job_name: 'scan', le: '600' })).toBe(3);
    expect(valueOf(samples, 'nightshift_run_duration_seconds_bucket', { job_name: 'chat', le: '0.1' })).toBe(1);
    const buckets = pick(samples, 'nightshift_run_duration_seconds_bucket', { job_name: 'scan' }).map((s) => s.labels.le);
    expect(buckets[0]).toBe('0.1');
    expect(buckets.at(-2)).toBe('28800'); // 8 h, before +Inf
  });

  it('escapes a job name with a quote, a backslash and a newline, and it round-trips', async () => {
    const { rendered, samples } = await scrapedMetrics();
    expect(rendered.body).toContain('job_name="say \\"hi\\" C:\\\\tmp\\nnext"');
    expect(valueOf(samples, 'nightshift_runs_total', { job_name: ODD_JOB, status: 'killed', reason: 'stalled' })).toBe(1);
    expect(valueOf(samples, 'nightshift_job_state', { job_name: ODD_JOB, state: 'idle' })).toBe(1);
  });

  it('reports each check and job state as an enum: exactly one 1 per check and per job', async () => {
    const { samples } = await scrapedMetrics();
    for (const check of ['backup', 'scan', 'writer']) {
      const series = pick(samples, 'nightshift_check_state', { check });
      expect(series).toHaveLength(6); // new up grace down paused started
      expect(series.filter((s) => s.value === 1)).toHaveLength(1);
      expect(series.filter((s) => s.value !== 0 && s.value !== 1)).toEqual([]);
    }
    expect(valueOf(samples, 'nightshift_check_state', { check: 'scan', state: 'down' })).toBe(1);
    expect(valueOf(samples, 'nightshift_check_state', { check: 'writer', state: 'new' })).toBe(1);
    for (const job of ['scan', ODD_JOB, 'chat']) {
      const series = pick(samples, 'nightshift_job_state', { job_name: job });
      expect(series.filter((s) => s.value === 1)).toHaveLength(1);
      expect(series.map((s) => s.labels.state)).toEqual(expect.arrayContaining(['idle', 'running', 'paused', 'crash_loop']));
    }
    expect(valueOf(samples, 'nightshift_job_state', { job_name: 'chat', state: 'crash_loop' })).toBe(1);
  });

  it('reads incidents, outbox, lag and version from the source at scrape time', async () => {
    const { data, metrics, samples } = await scrapedMetrics();
    expect(valueOf(samples, 'nightshift_incidents_open', { kind: 'check_down' })).toBe(2);
    expect(valueOf(samples, 'nightshift_incidents_open', { kind: 'crash_loop' })).toBe(0); // known kinds are always there
    expect(valueOf(samples, 'nightshift_outbox_backlog')).toBe(3);
    expect(valueOf(samples, 'nightshift_event_loop_lag_seconds')).toBe(0.004);
    expect(valueOf(samples, 'nightshift_info', { version: VERSION })).toBe(1);

    // The next scrape sees the source's new answers, and a check or job that went away has no series left.
    data.checks = data.checks.filter((c) => c.name !== 'writer');
    data.jobs = [{ name: 'scan', state: 'paused' }];
    data.incidents = [];
    data.backlog = 0;
    data.lagSeconds = 0.25;
    const next = parseExposition((await metrics.render()).body);
    expect(pick(next, 'nightshift_check_state', { check: 'writer' })).toEqual([]);
    expect(pick(next, 'nightshift_job_state', { job_name: 'chat' })).toEqual([]);
    expect(valueOf(next, 'nightshift_job_state', { job_name: 'scan', state: 'paused' })).toBe(1);
    expect(valueOf(next, 'nightshift_job_state', { job_name: 'scan', state: 'running' })).toBe(0);
    expect(valueOf(next, 'nightshift_incidents_open', { kind: 'check_down' })).toBe(0);
    expect(valueOf(next, 'nightshift_outbox_backlog')).toBe(0);
    expect(valueOf(next, 'nightshift_event_loop_lag_seconds')).toBe(0.25);
    // Counters are the daemon's own tally, not re-read: they survive scrapes unchanged.
    expect(valueOf(next, 'nightshift_runs_total', { job_name: 'scan', status: 'succeeded', reason: '' })).toBe(2);
  });

  it('has the process metrics but no event-loop-lag histogram (it wakes an idle daemon 100 times a second)', async () => {
    const { rendered, samples } = await scrapedMetrics();
    expect(rendered.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'process_max_fds',
      'process_start_time_seconds', 'nodejs_heap_size_used_bytes',
    ]) {
      expect(valueOf(samples, name), name).toBeGreaterThanOrEqual(0);
    }
    expect(valueOf(samples, 'process_start_time_seconds')).toBeGreaterThan(1_600_000_000);
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    expect(rendered.body).not.toMatch(/nodejs_eventloop_lag|nodejs_gc_/);
  });

  it('keeps separate registries per instance (never the global one)', async () => {
    const { source } = makeSource();
    const a = new Metrics(source);
    const b = new Metrics(source);
    a.observeRunEnded(run('only-a', 'succeeded', null, 10));
    expect((await b.render()).body).not.toContain('only-a');
  });

  it('passes promtool check metrics, with runs observed and before any', async () => {
    const { rendered } = await scrapedMetrics();
    const empty = await new Metrics({
      checkStates: async () => [], openIncidents: async () => [], outboxBacklog: async () => 0,
      jobStates: async () => [], eventLoopLagSeconds: () => 0,
    }).render();
    for (const body of [rendered.body, empty.body]) {
      const result = await promtoolCheck(body);
      expect({ ...result, stderr: result.stderr.trim(), stdout: result.stdout.trim() }).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  it('promtool is a real check here: it rejects what Prometheus would reject', async () => {
    const bad = await promtoolCheck('# HELP x_ms A counter named wrongly.\n# TYPE x_ms counter\nx_ms 1\n');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/_total/);
  });
});
