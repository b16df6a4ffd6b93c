/**
 * Whole hosts through runDoctor: each fixture host (a healthy one, seed 000's and seed 001's) reports exactly the
 * expected finding ids, and the real host of the test machine goes through without crashing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.ts';
import { cleanupHosts, prepareHost } from './helpers.ts';

afterEach(cleanupHosts);

const ids = (findings: { id: string }[]) => findings.map((f) => f.id).sort();

describe('fixture hosts', () => {
  it('a healthy host reports nothing — not its pre-fork workers, template units, packaged cron files, UFW without Docker or nightshift runs', async () => {
    const report = await runDoctor({ root: await prepareHost('healthy') });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("seed 000's host: full disk from an unrotated log, unlocked cron lines, UFW + Docker, an open project and .env", async () => {
    const report = await runDoctor({ root: await prepareHost('seed-000') });
    expect(ids(report.findings)).toEqual([
      'cron.no_lock',
      'disk.low',
      'firewall.ufw_docker',
      'logrotate.missing',
      'logs.large',
      'perms.env_file',
      'perms.project_dir',
    ]);
    expect(report.ok).toBe(false); // firewall.ufw_docker and disk.low (3% free) are critical
    const critical = report.findings.filter((f) => f.severity === 'critical').map((f) => f.id);
    expect(critical.sort()).toEqual(['disk.low', 'firewall.ufw_docker']);
    expect(report.findings[0]!.severity).toBe('critical'); // critical first
    const cron = report.findings.find((f) => f.id === 'cron.no_lock')!;
    expect(cron.detail).toContain('/etc/cron.d/ai-pipeline:3: 0 * * * * deploy python3 /opt/ai-pipeline/run.py');
    expect(cron.detail).toContain('/etc/cron.d/project-b:2:');
    expect(cron.detail).not.toContain('e2scrub'); // a package's cron file
    expect(cron.fix).toContain('  0 * * * * deploy flock -n /var/lock/run.lock python3 /opt/ai-pipeline/run.py >> /opt/ai-pipeline/logs/cron.log 2>&1\n');
    const logs = report.findings.find((f) => f.id === 'logs.large')!;
    expect(logs.detail).toContain('30G  /opt/ai-pipeline/logs/pipeline.log');
    expect(logs.detail).toContain('2G  /var/lib/docker/containers/4f2a9c/4f2a9c-json.log');
    const rotate = report.findings.find((f) => f.id === 'logrotate.missing')!;
    expect(rotate.detail).toContain('/opt/ai-pipeline/logs: cron.log');
    expect(rotate.fix).toContain('/opt/ai-pipeline/logs/*.log {');
    expect(rotate.fix).toContain('cat > /etc/logrotate.d/ai-pipeline');
    const firewall = report.findings.find((f) => f.id === 'firewall.ufw_docker')!;
    expect(firewall.detail).toContain('subagent-seo 127.0.0.1:8080->8080/tcp');
    expect(report.findings.find((f) => f.id === 'perms.env_file')!.fix).toBe('chmod 600 /opt/project-b/.env');
    expect(report.findings.find((f) => f.id === 'perms.project_dir')!.detail).toContain('/opt/project-b: mode 0755');
  });

  it("seed 001's host: 1 CPU at load 7.6, no swap, a 14,535-restart unit, failed units, two rivet workers, OOM kills, a big journal", async () => {
    const report = await runDoctor({ root: await prepareHost('seed-001') });
    expect(ids(report.findings)).toEqual([
      'cpu.overloaded',
      'journal.large',
      'memory.oom_kills',
      'process.duplicate',
      'swap.none',
      'systemd.crash_loop',
      'systemd.failed',
    ]);
    expect(report.ok).toBe(true); // all warnings
    const find = (id: string) => report.findings.find((f) => f.id === id)!;
    expect(find('systemd.crash_loop').title).toBe('rivet-worker.service has been restarted 14535 times');
    expect(find('systemd.failed').detail).toBe('nginx.service, rivet-scheduler.service, unattended-upgrades.service');
    expect(find('cpu.overloaded').detail).toContain('7.43 7.52 7.61');
    expect(find('swap.none').fix).toContain('fallocate -l 4G /swapfile');
    const duplicate = find('process.duplicate');
    expect(duplicate.detail).toContain('pid 1888');
    expect(duplicate.detail).toContain('pid 2110 (user root, systemd unit rivet-worker.service');
    expect(duplicate.detail).not.toContain('fast_worker');
    expect(find('memory.oom_kills').detail).toContain('3 processes killed by the OOM killer since boot');
    expect(find('memory.oom_kills').detail).toContain('Killed process 30102 (java)');
    // /root is 0700: the 0644 .env inside it is not reachable by anyone else, so it is not reported.
    expect(report.findings.some((f) => f.id.startsWith('perms.'))).toBe(false);
  });
});

describe('the real host', () => {
  it('runs every check on the machine running the tests without crashing, whatever it finds', async () => {
    const report = await runDoctor();
    expect(typeof report.ok).toBe('boolean');
    for (const finding of report.findings) {
      expect(finding.id).toMatch(/^[a-z]+\.[a-z_]+$/);
      expect(['critical', 'warning', 'info']).toContain(finding.severity);
      expect(finding.id).not.toBe('doctor.check_failed');
      for (const text of [finding.title, finding.detail, finding.fix]) expect(text.length).toBeGreaterThan(0);
    }
  });
});
