/**
 * `nightshift doctor` as a real process (dist/cli/main.js): the JSON contract, exit codes by --fail-on, the deploy
 * gate stopping a real deploy script, usage errors, and how a config is (not) needed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.ts';
import { cleanupHosts, prepareHost } from './helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  await cleanupHosts();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** An empty working directory, so no ./nightshift.yaml is picked up unless a test writes one. */
async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-doctor-cwd-'));
  dirs.push(dir);
  return dir;
}

async function doctor(args: string[], cwd?: string) {
  return runCli(['doctor', ...args], { cwd: cwd ?? (await workDir()), env: { NIGHTSHIFT_CONFIG: '' } });
}

describe('nightshift doctor', () => {
  it('--json prints { ok, findings: [{ id, severity, title, detail, fix }] }; a critical finding exits 1', async () => {
    const result = await doctor(['--json', '--root', await prepareHost('seed-000')]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; findings: Record<string, unknown>[] };
    expect(report.ok).toBe(false);
    expect(Object.keys(report)).toEqual(['ok', 'findings']);
    for (const finding of report.findings) expect(Object.keys(finding)).toEqual(['id', 'severity', 'title', 'detail', 'fix']);
    expect(report.findings.map((f) => f.id)).toContain('firewall.ufw_docker');
    expect(result.stderr).toBe('');
  });

  it('warnings alone exit 0 by default and 1 with --fail-on warning', async () => {
    const root = await prepareHost('seed-001');
    const byDefault = await doctor(['--root', root]);
    expect(byDefault.code).toBe(0);
    expect(byDefault.stdout).toContain('WARNING  systemd.crash_loop  rivet-worker.service has been restarted 14535 times');
    expect(byDefault.stdout).toContain('  fix:\n    see why it dies:  journalctl -u rivet-worker.service -n 50 --no-pager');
    expect(byDefault.stdout).toMatch(/7 warnings on the host under .* \(exit 0: nothing at or above critical; --fail-on warning fails on warnings too/);
    const strict = await doctor(['--root', root, '--fail-on', 'warning', '--json']);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout).ok).toBe(false);
  });

  it('a healthy host: "ok", exit 0 even with --fail-on warning', async () => {
    const result = await doctor(['--root', await prepareHost('healthy'), '--fail-on', 'warning']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: nothing found on the host under /);
  });

  it('the deploy gate: --fail-on warning --min-available-memory 2G stops a deploy script on a box with 1.2G available', async () => {
    const root = await prepareHost('healthy');
    const cwd = await workDir();
    const script = join(cwd, 'deploy.sh');
    await writeFile(script, `set -e\n"${process.execPath}" "${CLI}" doctor --root "$1" --fail-on warning --min-available-memory "$2"\necho "deploying"\n`);
    const stop = spawnSync('sh', [script, root, '2G'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' }, cwd });
    expect(stop.status).toBe(1);
    expect(stop.stdout).toContain('memory.low');
    expect(stop.stdout).toContain('below --min-available-memory 2G');
    expect(stop.stdout).not.toContain('deploying');
    const go = spawnSync('sh', [script, root, '1G'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', NIGHTSHIFT_CONFIG: '' }, cwd });
    expect(go.status).toBe(0);
    expect(go.stdout).toContain('deploying');
  });

  it.each([
    [['--fail-on', 'error'], "nightshift: --fail-on must be critical or warning; got 'error'"],
    [['--min-available-memory', 'lots'], "nightshift: --min-available-memory: 'lots' is not a size; write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)"],
    [['--root', '/nonexistent/host'], "nightshift: --root: /nonexistent/host is not a directory; give the directory that holds the host's proc/, etc/, var/"],
  ])('usage error %j: one line, exit 2', async (args, line) => {
    const result = await doctor(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${line}\n`);
    expect(result.stdout).toBe('');
  });

  it('needs no config; a broken ./nightshift.yaml or a missing -c file is exit 2 with the config error', async () => {
    const cwd = await workDir();
    const root = await prepareHost('healthy');
    expect((await doctor(['--root', root], cwd)).code).toBe(0);
    await writeFile(join(cwd, 'nightshift.yaml'), 'jobs:\n  scan:\n    command: echo\n    timout: 5m\n');
    const broken = await doctor(['--root', root], cwd);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("nightshift.yaml:4:5: jobs.scan.timout: unknown key 'timout'");
    const missing = await doctor(['--root', root, '-c', join(cwd, 'none.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('none.yaml: no such file (named by -c)');
  });

  it('a found config brings doctor.ignore: seed 000 with its critical ids silenced exits 0', async () => {
    const cwd = await workDir();
    await writeFile(join(cwd, 'nightshift.yaml'), 'doctor: { ignore: [firewall.ufw_docker, disk.low] }\njobs:\n  scan: { command: [python3, run.py], cwd: /opt/ai-pipeline, user: deploy }\n');
    const result = await doctor(['--json', '--root', await prepareHost('seed-000')], cwd);
    expect(result.code).toBe(0);
    const ids = (JSON.parse(result.stdout) as { findings: { id: string }[] }).findings.map((f) => f.id);
    expect(ids).not.toContain('disk.low');
    expect(ids).not.toContain('firewall.ufw_docker');
    expect(ids).toContain('cron.no_lock');
  });

  it('runs on the real host of the test machine: valid JSON, exit 0 or 1', async () => {
    const result = await doctor(['--json']);
    expect([0, 1]).toContain(result.code);
    const report = JSON.parse(result.stdout) as { ok: boolean };
    expect(report.ok).toBe(result.code === 0);
  });
});
