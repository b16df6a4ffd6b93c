/**
 * `nightshift install logrotate` through the built CLI, checked by the real logrotate on a real tree of files: the
 * rule parses without errors, considers the files nightshift does not rotate itself (`<state_dir>/*.log`, `--log`
 * files), leaves the jobs' logs (`<state_dir>/logs/`, rotated by nightshift) alone, and a forced rotation copies and
 * truncates in place. `--print` writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, makeTempDir, runCli } from '../cli/helpers.ts';

afterEach(cleanupAll);

function tree(): { dir: string; stateDir: string; daemonLog: string; jobLog: string; cronLog: string } {
  const dir = makeTempDir('nightshift-logrotate-');
  writeFileSync(join(dir, 'nightshift.yaml'), 'project: scanner\njobs:\n  scan: { command: "true", schedule: "0 * * * *" }\n');
  const stateDir = join(dir, '.nightshift');
  mkdirSync(join(stateDir, 'logs', 'scan'), { recursive: true, mode: 0o700 });
  const daemonLog = join(stateDir, 'daemon.log');
  const jobLog = join(stateDir, 'logs', 'scan', 'scan.log');
  const cronLog = join(dir, 'cron output.log'); // a space: the pattern must be quoted
  writeFileSync(daemonLog, '{"msg":"nightshift listening"}\n');
  writeFileSync(jobLog, 'job output that nightshift rotates itself\n');
  writeFileSync(cronLog, 'what a crontab line appended\n');
  return { dir, stateDir, daemonLog, jobLog, cronLog };
}

function logrotate(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('logrotate', args, { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('nightshift install logrotate', () => {
  it('writes a rule that logrotate -d parses and that considers exactly the files nightshift does not rotate', async () => {
    const { dir, stateDir, daemonLog, jobLog, cronLog } = tree();
    const rule = join(dir, 'logrotate.d', 'nightshift-scanner');
    const result = await runCli(['install', 'logrotate', '--output', rule, '--log', cronLog], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`wrote ${rule}\nnext:\n  logrotate -d ${rule}    # a dry run: shows which files it considers\n`);
    expect(readFileSync(rule, 'utf8')).toContain(`${stateDir}/*.log "${cronLog}" {\n`);

    const dry = logrotate(['-d', '-s', join(dir, 'logrotate.state'), rule]);
    expect(dry.status).toBe(0);
    expect(dry.output).not.toMatch(/^error:/m);
    expect(dry.output).toContain(`reading config file ${rule}`);
    expect(dry.output).toContain(`considering log ${daemonLog}`);
    expect(dry.output).toContain(`considering log ${cronLog}`);
    expect(dry.output).not.toContain(jobLog);

    // A real rotation, forced: copied to .1 (compressed only at the next one), truncated in place; the job log untouched.
    const forced = logrotate(['-f', '-s', join(dir, 'logrotate.state'), rule]);
    expect(forced.output).toBe('');
    expect(forced.status).toBe(0);
    expect(readFileSync(`${daemonLog}.1`, 'utf8')).toBe('{"msg":"nightshift listening"}\n');
    expect(statSync(daemonLog).size).toBe(0);
    expect(readFileSync(`${cronLog}.1`, 'utf8')).toBe('what a crontab line appended\n');
    expect(readdirSync(join(stateDir, 'logs', 'scan'))).toEqual(['scan.log']);
    expect(readFileSync(jobLog, 'utf8')).toBe('job output that nightshift rotates itself\n');
  });

  it('--print writes nothing; --log under the jobs\' logs is refused', async () => {
    const { dir, stateDir, jobLog } = tree();
    const before = readdirSync(dir).sort();
    const printed = await runCli(['install', 'logrotate', '--print'], { cwd: dir });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(`${stateDir}/*.log {\n`);
    expect(printed.stdout).toContain('    copytruncate\n');
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(existsSync('/etc/logrotate.d/nightshift-scanner')).toBe(false);

    const refused = await runCli(['install', 'logrotate', '--print', '--log', jobLog], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`nightshift: --log ${jobLog}: nightshift rotates the files under ${join(stateDir, 'logs')} itself; name only files it does not write\n`);
  });
});
