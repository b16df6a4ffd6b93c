/**
 * Collecting the snapshot from real files and real processes: a fixture host's facts are all read (so "no findings"
 * on the healthy host means healthy, not blind); a job's PATH and command resolve against real files under a root;
 * a config's jobs are checked and its doctor.ignore applied; live commands that are missing or hang are unknown.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.ts';
import { collectSnapshot } from '../../src/doctor/snapshot.ts';
import { runDoctor } from '../../src/doctor/index.ts';
import { HOST_COMMANDS, liveCommands, type HostCommandName, type HostCommand } from '../../src/doctor/commands.ts';
import { cleanupHosts, prepareHost } from './helpers.ts';

afterEach(cleanupHosts);

describe('collecting a fixture host', () => {
  it('reads every fact of the healthy host', async () => {
    const s = await collectSnapshot({ root: await prepareHost('healthy') });
    expect(s.cpuCount).toBe(2);
    expect(s.load).toEqual({ one: 0.21, five: 0.15, fifteen: 0.1 });
    expect(s.memory?.swapTotalBytes).toBe(2097148 * 1024);
    expect(s.mounts?.map((m) => m.mountPoint)).toEqual(['/', '/boot', '/run']);
    expect(s.cron?.map((l) => `${l.file}:${l.line}`)).toEqual(['/etc/cron.d/shop:3', '/etc/cron.d/shop:4', '/var/spool/cron/crontabs/shop:2']);
    expect(s.logrotate).toEqual({ installed: true, patterns: expect.arrayContaining(['/opt/shop/logs/*.log', '/var/log/syslog']), scheduled: true });
    expect(s.appLogs.map((l) => l.path)).toEqual(['/opt/shop/logs/app.log']);
    expect(s.firewall).toEqual({ ufwEnabled: true, inputPolicy: 'DROP' });
    expect(s.docker).toBeNull(); // no docker-ps.txt, no dockerd: Docker is not there
    expect(s.systemdUnits).toHaveLength(4);
    expect(s.failedUnits).toEqual([]);
    expect(s.time).toEqual({ synchronized: true, ntpEnabled: true });
    expect(s.journalBytes).toBe(184 * 1024 ** 2);
    expect(s.oom).toEqual({ killsSinceBoot: 0, lines: [] });
    expect(s.processes?.map((p) => p.pid)).toEqual([1, 300, 420, 500, 501, 502, 600, 601, 602, 700, 701, 800, 810, 811, 990]);
    expect(s.processes?.find((p) => p.pid === 810)).toMatchObject({ marked: true, cwd: '/opt/shop', uid: 998, unit: 'nightshift.service' });
    expect(s.projectDirs.map((d) => [d.path, d.mode])).toEqual([['/opt/shop', 0o700]]);
    expect(s.envFiles.map((d) => [d.path, d.mode])).toEqual([['/opt/shop/.env', 0o600]]); // not .env.example
  });
});

describe('jobs, with a config', () => {
  async function makeRoot(): Promise<string> {
    const root = await prepareHost('healthy');
    const exe = async (path: string, text: string) => {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), text);
      await chmod(join(root, path), 0o755);
    };
    await exe('usr/bin/python3', '');
    await exe('opt/shop/venv/bin/python3', '');
    await exe('opt/shop/venv/bin/celery', '#!/opt/shop/venv/bin/python3\n');
    await exe('opt/shop/bin/chat.rb', '#!/usr/bin/env ruby\nputs 1\n');
    await exe('home/app/.rbenv/shims/ruby', '');
    await writeFile(join(root, 'opt/shop/.env'), 'PATH=/opt/shop/venv/bin:/usr/bin\n');
    return root;
  }

  function config(jobs: string): ReturnType<typeof loadConfigText> {
    return loadConfigText(`state_dir: /opt/shop/.nightshift\ndoctor: { ignore: [perms.project_dir] }\njobs:\n${jobs}`, { configPath: '/tmp/nightshift-doctor-test/nightshift.yaml', env: {} });
  }

  it('resolves each command on the PATH the job will have, and says where a missing one is', async () => {
    const root = await makeRoot();
    const s = await collectSnapshot({
      root,
      config: config(`
  run: { command: python3 run.py, cwd: /opt/shop }
  worker: { command: [celery, -A, shop, worker], cwd: /opt/shop, env_file: /opt/shop/.env }
  worker-no-env: { command: [celery, -A, shop, worker], cwd: /opt/shop }
  chat: { command: [./bin/chat.rb], cwd: /opt/shop }
  chat-fixed: { command: [./bin/chat.rb], cwd: /opt/shop, env: { PATH: /home/app/.rbenv/shims:/usr/bin } }
  shell: { command: "cd /opt/shop && exec $RUNNER", cwd: /opt/shop }
  gone: { command: [./missing.sh], cwd: /opt/shop }
  nocwd: { command: [python3], cwd: /opt/nowhere }
`),
    });
    const facts = Object.fromEntries(s.jobs.map((job) => [job.name, job]));
    expect(facts['run']!.unresolved).toEqual([]);
    expect(facts['run']!.path).toEqual({ value: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', from: 'service' });
    expect(facts['worker']!.unresolved).toEqual([]);
    expect(facts['worker']!.path).toEqual({ value: '/opt/shop/venv/bin:/usr/bin', from: 'env_file' });
    expect(facts['worker-no-env']!.unresolved).toEqual([{ program: 'celery', foundElsewhere: [], onShellPath: null }]);
    // The script is found; its `#!/usr/bin/env ruby` is not, on the service PATH (seed 003).
    expect(facts['chat']!.unresolved).toEqual([{ program: 'ruby', foundElsewhere: ['/home/app/.rbenv/shims/ruby'], onShellPath: null }]);
    expect(facts['chat-fixed']!.unresolved).toEqual([]);
    expect(facts['shell']!.unresolved).toEqual([]); // `cd` first, `$RUNNER` unknowable: nothing to look for
    expect(facts['gone']!.unresolved.map((u) => u.program)).toEqual(['./missing.sh']);
    expect(facts['nocwd']!.cwd).toBeNull();
  });

  it("seed 001's host with its worker as a job: not on the service PATH, run as root, already running outside nightshift; doctor.ignore applies", async () => {
    const root = await prepareHost('seed-001');
    const cfg = loadConfigText(
      'state_dir: /root/Agent-Factory/.nightshift\ndoctor: { ignore: [journal.large, memory.oom_kills] }\njobs:\n  rivet-worker:\n    command: poetry run python scripts/rivet_worker.py\n    cwd: /root/Agent-Factory\n    user: root\n    restart: always\n',
      { configPath: '/tmp/nightshift-doctor-test/nightshift.yaml', env: {} },
    );
    const report = await runDoctor({ root, config: cfg });
    expect(report.findings.map((f) => f.id).sort()).toEqual([
      'cpu.overloaded',
      'job.root',
      'path.unresolved',
      'process.duplicate',
      'process.duplicate',
      'swap.none',
      'systemd.crash_loop',
      'systemd.failed',
    ]);
    const path = report.findings.find((f) => f.id === 'path.unresolved')!;
    expect(path.detail).toContain("'poetry' is not found on PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(path.detail).toContain('it exists at: /root/.local/bin/poetry');
    expect(path.fix).toContain('env: { PATH: "/root/.local/bin:/usr/local/sbin');
    const outside = report.findings.find((f) => f.title.startsWith('job rivet-worker'))!;
    expect(outside.detail).toContain('pid 2101');
  });
});

describe('live commands', () => {
  /** Every command replaced by `argv`. */
  const table = (argv: [string, ...string[]]): Record<HostCommandName, HostCommand> => {
    const replaced = { ...HOST_COMMANDS } as Record<HostCommandName, HostCommand>;
    for (const name of Object.keys(HOST_COMMANDS) as HostCommandName[]) replaced[name] = { fixture: HOST_COMMANDS[name].fixture, argv };
    return replaced;
  };

  it('a missing program is an unknown fact', async () => {
    expect(await liveCommands(2000, table(['nightshift-no-such-program-xyz']))('df')).toBeNull();
  });
  it('a command that hangs is killed at the timeout and unknown', async () => {
    const started = performance.now();
    expect(await liveCommands(300, table(['sleep', '30']))('df')).toBeNull();
    expect(performance.now() - started).toBeLessThan(5000);
  });
  it('a command that fails but prints an answer is the answer (systemctl is-active exits 3 for inactive)', async () => {
    expect(await liveCommands(2000, table(['sh', '-c', 'echo inactive; exit 3']))('logrotateTimer')).toBe('inactive\n');
  });
  it('a command that fails silently is unknown (systemctl on a host not booted with systemd)', async () => {
    expect(await liveCommands(2000, table(['sh', '-c', 'echo "System has not been booted with systemd" >&2; exit 1']))('failedUnits')).toBeNull();
  });
});
