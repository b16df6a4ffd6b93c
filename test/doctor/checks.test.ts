/**
 * One table per check: the edge cases each one decides, over a snapshot that is healthy except for the facts under
 * test (helpers.ts `snapshot()`). Checks are pure, so these need no host at all.
 */
import { describe, expect, it } from 'vitest';
import { reportFor } from '../../src/doctor/index.ts';
import type { CheckContext, HostProcess, HostSnapshot, JobFacts, MountUsage, PathMode } from '../../src/doctor/types.ts';
import { checkSwap } from '../../src/doctor/checks/swap.ts';
import { checkMemory } from '../../src/doctor/checks/memory.ts';
import { checkCpu } from '../../src/doctor/checks/cpu.ts';
import { checkDiskSpace } from '../../src/doctor/checks/disk-space.ts';
import { checkDiskInodes } from '../../src/doctor/checks/disk-inodes.ts';
import { checkLogsLarge } from '../../src/doctor/checks/logs-large.ts';
import { checkJournal } from '../../src/doctor/checks/journal.ts';
import { checkLogrotateMissing } from '../../src/doctor/checks/logrotate-missing.ts';
import { checkLogrotateUnscheduled } from '../../src/doctor/checks/logrotate-unscheduled.ts';
import { checkFirewall } from '../../src/doctor/checks/firewall.ts';
import { checkDockerLogs } from '../../src/doctor/checks/docker-logs.ts';
import { checkProjectDirs } from '../../src/doctor/checks/perms-project-dir.ts';
import { checkStateDir } from '../../src/doctor/checks/perms-state-dir.ts';
import { checkEnvFiles } from '../../src/doctor/checks/perms-env-file.ts';
import { checkCronLocks } from '../../src/doctor/checks/cron-lock.ts';
import { checkSystemdCrashLoop } from '../../src/doctor/checks/systemd-crash-loop.ts';
import { checkSystemdFailed } from '../../src/doctor/checks/systemd-failed.ts';
import { checkPaths } from '../../src/doctor/checks/path-unresolved.ts';
import { checkTime } from '../../src/doctor/checks/time-sync.ts';
import { checkOomKills } from '../../src/doctor/checks/oom-kills.ts';
import { checkDuplicates } from '../../src/doctor/checks/duplicates.ts';
import { checkRootJobs } from '../../src/doctor/checks/job-root.ts';
import { compileJob } from '../../src/watch/duplicate-match.ts';
import { snapshot } from './helpers.ts';

const M = 1024 ** 2;
const G = 1024 ** 3;
const NO_FLAGS: CheckContext = { minAvailableMemoryBytes: null };
type Expect = [id: string, severity: string][];
const run = (check: (s: HostSnapshot, c: CheckContext) => { id: string; severity: string }[], s: HostSnapshot, c = NO_FLAGS): Expect =>
  check(s, c).map((f) => [f.id, f.severity]);

describe('swap', () => {
  const mem = (total: number, swap: number) => snapshot({ memory: { memTotalBytes: total, memAvailableBytes: total / 2, swapTotalBytes: swap, swapFreeBytes: swap } });
  it.each<[string, HostSnapshot, Expect]>([
    ['no swap', mem(1 * G, 0), [['swap.none', 'warning']]],
    ['256M on a 1G box: below half the RAM', mem(1 * G, 256 * M), [['swap.small', 'warning']]],
    ['512M on a 1G box', mem(1 * G, 512 * M), []],
    ['2G on a 16G box: enough, whatever the RAM', mem(16 * G, 2 * G), []],
    ['1G on a 16G box', mem(16 * G, 1 * G), [['swap.small', 'warning']]],
    ['meminfo unknown', snapshot({ memory: null }), []],
  ])('%s', (_name, s, expected) => expect(run(checkSwap, s)).toEqual(expected));

  it('suggests RAM-sized swap, whole GiB, at most 4G', () => {
    expect(checkSwap(mem(1 * G, 0), NO_FLAGS)[0]!.fix).toContain('fallocate -l 1G /swapfile');
    expect(checkSwap(mem(3.8 * G, 0), NO_FLAGS)[0]!.fix).toContain('fallocate -l 4G /swapfile');
    expect(checkSwap(mem(32 * G, 0), NO_FLAGS)[0]!.fix).toContain('fallocate -l 4G /swapfile');
  });
});

describe('memory.low', () => {
  const avail = (bytes: number) => snapshot({ memory: { memTotalBytes: 2 * G, memAvailableBytes: bytes, swapTotalBytes: 0, swapFreeBytes: 0 } });
  it.each<[string, HostSnapshot, number | null, Expect]>([
    ['5% available', avail(0.1 * G), null, [['memory.low', 'warning']]],
    ['15% available', avail(0.3 * G), null, []],
    ['1.2G available, --min-available-memory 2G (the deploy gate)', avail(1.2 * G), 2 * G, [['memory.low', 'warning']]],
    ['1.2G available, --min-available-memory 1G', avail(1.2 * G), 1 * G, []],
    ['the flag replaces the percent floor: 5% available, --min-available-memory 100M', avail(0.1 * G), 100 * M, []],
  ])('%s', (_name, s, floor, expected) => expect(run(checkMemory, s, { minAvailableMemoryBytes: floor })).toEqual(expected));

  it('names the floor it used', () => {
    expect(checkMemory(avail(1.2 * G), { minAvailableMemoryBytes: 2 * G })[0]!.detail).toContain('below --min-available-memory 2G');
  });
});

describe('cpu.overloaded', () => {
  const load = (cpus: number | null, one: number, five: number, fifteen: number) => snapshot({ cpuCount: cpus, load: { one, five, fifteen } });
  it.each<[string, HostSnapshot, Expect]>([
    ['1 CPU, 5-min load 1.6', load(1, 1, 1.6, 1), [['cpu.overloaded', 'warning']]],
    ['1 CPU, 15-min load 7.61 (seed 001)', load(1, 7.43, 7.52, 7.61), [['cpu.overloaded', 'warning']]],
    ['1 CPU, load 1.4', load(1, 1.4, 1.4, 1.4), []],
    ['a 1-minute spike alone', load(1, 9, 1, 0.5), []],
    ['4 CPUs at 5.9', load(4, 6, 5.9, 5), []],
    ['4 CPUs at 6.1', load(4, 6, 6.1, 5), [['cpu.overloaded', 'warning']]],
    ['CPU count unknown', load(null, 9, 9, 9), []],
  ])('%s', (_name, s, expected) => expect(run(checkCpu, s)).toEqual(expected));
});

describe('disk.low and disk.inodes', () => {
  const mount = (m: Partial<MountUsage>) => snapshot({ mounts: [{ mountPoint: '/', fsType: 'ext4', sizeBytes: 100 * G, availBytes: 50 * G, inodes: 1000, inodesFree: 500, ...m }] });
  it.each<[string, HostSnapshot, Expect]>([
    ['12% free', mount({ availBytes: 12 * G }), []],
    ['10% free: at the line, fine', mount({ availBytes: 10 * G }), []],
    ['8% free', mount({ availBytes: 8 * G }), [['disk.low', 'warning']]],
    ['4.9% free', mount({ availBytes: 4.9 * G }), [['disk.low', 'critical']]],
    ['mounts unknown', snapshot({ mounts: null }), []],
  ])('space: %s', (_name, s, expected) => expect(run(checkDiskSpace, s)).toEqual(expected));

  it.each<[string, HostSnapshot, Expect]>([
    ['9% of inodes free', mount({ inodesFree: 90 }), [['disk.inodes', 'warning']]],
    ['4% of inodes free', mount({ inodesFree: 40 }), [['disk.inodes', 'critical']]],
    ['btrfs: no inode table', mount({ fsType: 'btrfs', inodes: 0, inodesFree: 0 }), []],
  ])('inodes: %s', (_name, s, expected) => expect(run(checkDiskInodes, s)).toEqual(expected));

  it('one finding per mount', () => {
    const s = snapshot({
      mounts: [
        { mountPoint: '/', fsType: 'ext4', sizeBytes: 100 * G, availBytes: 3 * G, inodes: 0, inodesFree: 0 },
        { mountPoint: '/var/lib/postgresql', fsType: 'xfs', sizeBytes: 100 * G, availBytes: 7 * G, inodes: 0, inodesFree: 0 },
      ],
    });
    expect(checkDiskSpace(s, NO_FLAGS).map((f) => f.title)).toEqual(['/ is nearly full: 3% free', '/var/lib/postgresql is getting full: 7% free']);
  });
});

describe('logs.large and journal.large', () => {
  it.each<[string, HostSnapshot, Expect]>([
    ['a 499M log', snapshot({ logFiles: [{ path: '/var/log/syslog', sizeBytes: 499 * M }] }), []],
    ['a 500M log', snapshot({ logFiles: [{ path: '/var/log/syslog', sizeBytes: 500 * M }] }), [['logs.large', 'warning']]],
  ])('%s', (_name, s, expected) => expect(run(checkLogsLarge, s)).toEqual(expected));

  it('lists the largest first, in one finding', () => {
    const s = snapshot({ logFiles: [{ path: '/var/log/a.log', sizeBytes: 600 * M }, { path: '/opt/x/logs/b.log', sizeBytes: 3 * G }] });
    const [finding] = checkLogsLarge(s, NO_FLAGS);
    expect(finding!.detail).toBe('    3G  /opt/x/logs/b.log\n  600M  /var/log/a.log');
  });

  it.each<[string, number | null, Expect]>([
    ['999M journal', 999 * M, []],
    ['1G journal', 1 * G, [['journal.large', 'warning']]],
    ['journal unknown', null, []],
  ])('%s', (_name, bytes, expected) => expect(run(checkJournal, snapshot({ journalBytes: bytes }))).toEqual(expected));
});

describe('logrotate', () => {
  const logs = (patterns: string[], paths: string[], installed = true) =>
    snapshot({ appLogs: paths.map((path) => ({ path, sizeBytes: 10 })), logrotate: { installed, patterns, scheduled: true } });
  it.each<[string, HostSnapshot, Expect]>([
    ['a rule covers the logs', logs(['/opt/app/logs/*.log'], ['/opt/app/logs/a.log', '/opt/app/logs/b.log']), []],
    ['a file rule', logs(['/opt/app/app.log'], ['/opt/app/app.log']), []],
    ['a bracket glob', logs(['/opt/app/[ab].log'], ['/opt/app/a.log']), []],
    ['* does not cross a /', logs(['/opt/app/logs/*.log'], ['/opt/app/logs/sub/c.log']), [['logrotate.missing', 'warning']]],
    ['no rule', logs([], ['/srv/bot/bot.log']), [['logrotate.missing', 'warning']]],
  ])('%s', (_name, s, expected) => expect(run(checkLogrotateMissing, s)).toEqual(expected));

  it('the fix is a rule per directory, and installing logrotate when it is missing', () => {
    const [finding] = checkLogrotateMissing(logs([], ['/home/bob/bot/logs/a.log', '/srv/api/api.log'], false), NO_FLAGS);
    expect(finding!.fix).toContain('apt-get install -y logrotate');
    expect(finding!.fix).toContain("cat > /etc/logrotate.d/bot <<'EOF'\n/home/bob/bot/logs/*.log {");
    expect(finding!.fix).toContain("cat > /etc/logrotate.d/api <<'EOF'\n/srv/api/*.log {");
  });

  it.each<[string, HostSnapshot['logrotate'], Expect]>([
    ['configured, not scheduled', { installed: true, patterns: [], scheduled: false }, [['logrotate.unscheduled', 'warning']]],
    ['configured, scheduled', { installed: true, patterns: [], scheduled: true }, []],
    ['schedule unknown', { installed: true, patterns: [], scheduled: null }, []],
    ['not installed', { installed: false, patterns: [], scheduled: false }, []],
  ])('%s', (_name, logrotate, expected) => expect(run(checkLogrotateUnscheduled, snapshot({ logrotate }))).toEqual(expected));
});

describe('firewall.ufw_docker', () => {
  const host = (ufwEnabled: boolean, inputPolicy: string | null, docker: HostSnapshot['docker']) => snapshot({ firewall: { ufwEnabled, inputPolicy }, docker });
  const dockerUp = { running: true, containers: [], logging: null };
  it.each<[string, HostSnapshot, Expect]>([
    ['UFW DROP + Docker (seed 000)', host(true, 'DROP', dockerUp), [['firewall.ufw_docker', 'critical']]],
    ['UFW REJECT + Docker', host(true, 'REJECT', dockerUp), [['firewall.ufw_docker', 'critical']]],
    ['UFW ACCEPT + Docker', host(true, 'ACCEPT', dockerUp), []],
    ['UFW disabled + Docker', host(false, 'DROP', dockerUp), []],
    ['UFW DROP, no Docker', host(true, 'DROP', null), []],
    ['UFW DROP, Docker installed but not running', host(true, 'DROP', { running: false, containers: [], logging: null }), []],
    ['no UFW', snapshot({ firewall: null, docker: dockerUp }), []],
  ])('%s', (_name, s, expected) => expect(run(checkFirewall, s)).toEqual(expected));
});

describe('docker.logs_unbounded', () => {
  const docker = (logging: NonNullable<HostSnapshot['docker']>['logging'], running = true) => snapshot({ docker: { running, containers: [], logging } });
  it.each<[string, HostSnapshot, Expect]>([
    ['json-file without max-size (Docker\'s default: no daemon.json)', docker({ driver: 'json-file', maxSize: null }), [['docker.logs_unbounded', 'warning']]],
    ['json-file with max-size', docker({ driver: 'json-file', maxSize: '50m' }), []],
    ['the local driver (rotates by itself)', docker({ driver: 'local', maxSize: null }), []],
    ['journald', docker({ driver: 'journald', maxSize: null }), []],
    ['daemon.json unparseable: unknown', docker(null), []],
    ['Docker not running', docker({ driver: 'json-file', maxSize: null }, false), []],
    ['no Docker', snapshot({ docker: null }), []],
  ])('%s', (_name, s, expected) => expect(run(checkDockerLogs, s)).toEqual(expected));
});

describe('permissions', () => {
  const mode = (path: string, m: number, extra: Partial<PathMode> = {}): PathMode => ({ path, mode: m, uid: 1000, reachable: true, ...extra });
  it.each<[string, PathMode, Expect]>([
    ['0700', mode('/opt/a', 0o700), []],
    ['0755', mode('/opt/a', 0o755), [['perms.project_dir', 'warning']]],
    ['0750: its group can read', mode('/opt/a', 0o750), [['perms.project_dir', 'warning']]],
    ['0755 inside a 0700 directory: nobody else gets there', mode('/root/a', 0o755, { reachable: false }), []],
    ['a job cwd that is a system directory', mode('/tmp', 0o1777), []],
  ])('project dir %s', (_name, dir, expected) => expect(run(checkProjectDirs, snapshot({ projectDirs: [dir] }))).toEqual(expected));

  it.each<[string, PathMode | null, Expect]>([
    ['0700', mode('/opt/a/.nightshift', 0o700), []],
    ['0755', mode('/opt/a/.nightshift', 0o755), [['perms.state_dir', 'warning']]],
    ['none yet', null, []],
  ])('state dir %s', (_name, stateDir, expected) => expect(run(checkStateDir, snapshot({ stateDir }))).toEqual(expected));

  it.each<[string, PathMode, Expect]>([
    ['0600', mode('/opt/a/.env', 0o600), []],
    ['0640', mode('/opt/a/.env', 0o640), [['perms.env_file', 'warning']]],
    ['0644 but unreachable', mode('/opt/a/.env', 0o644, { reachable: false }), []],
    ['0600 but owned by another project user (seed 000)', mode('/opt/a/.env', 0o600, { uid: 998 }), [['perms.env_file', 'warning']]],
    ['0600 owned by root', mode('/opt/a/.env', 0o600, { uid: 0 }), []],
  ])('env file %s', (_name, file, expected) => {
    const s = snapshot({ projectDirs: [mode('/opt/a', 0o700)], envFiles: [file] });
    expect(run(checkEnvFiles, s)).toEqual(expected);
  });

  it('an env file overwritten by another project says whose it is and how to give it back', () => {
    const s = snapshot({ projectDirs: [mode('/opt/a', 0o700)], envFiles: [mode('/opt/a/.env', 0o644, { uid: 998 })] });
    const [finding] = checkEnvFiles(s, NO_FLAGS);
    expect(finding!.detail).toBe('/opt/a/.env: mode 0644: group can read, others can read; owned by app, but its directory by deploy');
    expect(finding!.fix).toContain('chown deploy: /opt/a/.env');
    expect(finding!.fix).toContain('chmod 600 /opt/a/.env');
  });
});

describe('cron.no_lock', () => {
  const cron = (command: string) => snapshot({ cron: [{ file: '/etc/cron.d/app', line: 1, text: `* * * * * app ${command}`, prefix: '* * * * * app ', command, user: 'app' }] });
  it.each<[string, Expect]>([
    ['flock -n /var/lock/a.lock python3 run.py', []],
    ['/usr/bin/flock -n /tmp/x.lock ./run.sh', []],
    ['cd /opt/a && flock -n locks/a.lock ./run.sh', []],
    ['nightshift exec --job scan -- python3 run.py', []],
    ['/usr/local/bin/nightshift -c /opt/a/nightshift.yaml exec --job scan -- ./run.sh', []],
    ['run-one python3 run.py', []],
    ['python3 /opt/a/run.py >> /opt/a/logs/cron.log 2>&1', [['cron.no_lock', 'warning']]],
    ['/opt/a/flockfile.sh', [['cron.no_lock', 'warning']]],
  ])('%s', (command, expected) => expect(run(checkCronLocks, cron(command))).toEqual(expected));

  it('unknown crontabs are not a finding', () => expect(run(checkCronLocks, snapshot({ cron: null }))).toEqual([]));

  it('the fix wraps a command list in sh -c, so the lock covers all of it; redirections stay outside', () => {
    const [finding] = checkCronLocks(cron('cd /opt/b && ./sync.sh >> /opt/b/logs/cron.log 2>&1'), NO_FLAGS);
    expect(finding!.fix).toContain("* * * * * app flock -n /var/lock/sync.lock sh -c 'cd /opt/b && ./sync.sh' >> /opt/b/logs/cron.log 2>&1");
    expect(finding!.fix).toContain("nightshift exec --job sync --lock --timeout 1h -- sh -c 'cd /opt/b && ./sync.sh' >> /opt/b/logs/cron.log 2>&1");
  });
});

describe('systemd', () => {
  const unit = (restarts: number | null) => snapshot({ systemdUnits: [{ id: 'w.service', activeState: 'activating', subState: 'auto-restart', restarts }] });
  it.each<[string, HostSnapshot, Expect]>([
    ['100 restarts', unit(100), []],
    ['101 restarts', unit(101), [['systemd.crash_loop', 'warning']]],
    ['NRestarts unknown (systemd before 235)', unit(null), []],
  ])('%s', (_name, s, expected) => expect(run(checkSystemdCrashLoop, s)).toEqual(expected));

  it.each<[string, string[] | null, Expect]>([
    ['none failed', [], []],
    ['unknown', null, []],
    ['two failed: one finding', ['nginx.service', 'backup.mount'], [['systemd.failed', 'warning']]],
  ])('%s', (_name, failedUnits, expected) => expect(run(checkSystemdFailed, snapshot({ failedUnits }))).toEqual(expected));
});

describe('path.unresolved', () => {
  const job = (facts: Partial<JobFacts>): JobFacts => ({
    name: 'chat',
    user: 'app',
    command: 'ruby processor.rb',
    path: { value: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', from: 'service' },
    unresolved: [],
    cwd: { path: '/opt/chat', mode: 0o700, uid: 998, reachable: true },
    envFile: null,
    ...facts,
  });
  it('resolved: nothing', () => expect(run(checkPaths, snapshot({ jobs: [job({})] }))).toEqual([]));
  it('missing cwd', () => expect(run(checkPaths, snapshot({ jobs: [job({ cwd: null })] }))).toEqual([['path.unresolved', 'warning']]));
  it('found on the shell PATH only (seed 003): says so and puts that directory first', () => {
    const [finding] = checkPaths(snapshot({ jobs: [job({ unresolved: [{ program: 'ruby', foundElsewhere: ['/home/app/.local/share/mise/shims/ruby'], onShellPath: '/home/app/.local/share/mise/shims/ruby' }] })] }), NO_FLAGS);
    expect(finding!.detail).toContain("'ruby' is not found on PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (the PATH a systemd service has)");
    expect(finding!.detail).toContain("your shell finds it at /home/app/.local/share/mise/shims/ruby");
    expect(finding!.fix).toContain('env: { PATH: "/home/app/.local/share/mise/shims:/usr/local/sbin');
  });
  it('found nowhere: install it', () => {
    const [finding] = checkPaths(snapshot({ jobs: [job({ unresolved: [{ program: 'ruby', foundElsewhere: [], onShellPath: null }] })] }), NO_FLAGS);
    expect(finding!.fix).toBe('install ruby, or use its absolute path in jobs.chat.command');
  });
});

describe('time.unsynced', () => {
  it.each<[string, HostSnapshot['time'], Expect]>([
    ['synchronised', { synchronized: true, ntpEnabled: true }, []],
    ['unknown', null, []],
    ['not synchronised, NTP on', { synchronized: false, ntpEnabled: true }, [['time.unsynced', 'warning']]],
    ['not synchronised, NTP off', { synchronized: false, ntpEnabled: false }, [['time.unsynced', 'warning']]],
  ])('%s', (_name, time, expected) => expect(run(checkTime, snapshot({ time }))).toEqual(expected));

  it('with no time service the fix turns one on', () => {
    expect(checkTime(snapshot({ time: { synchronized: false, ntpEnabled: false } }), NO_FLAGS)[0]!.fix).toContain('timedatectl set-ntp true');
  });
});

describe('memory.oom_kills', () => {
  it.each<[string, HostSnapshot['oom'], Expect]>([
    ['none', { killsSinceBoot: 0, lines: [] }, []],
    ['unknown', null, []],
    ['2 since boot', { killsSinceBoot: 2, lines: [] }, [['memory.oom_kills', 'warning']]],
    ['old kernel: no counter, a kernel log line', { killsSinceBoot: null, lines: ['Killed process 12 (ruby)'] }, [['memory.oom_kills', 'warning']]],
  ])('%s', (_name, oom, expected) => expect(run(checkOomKills, snapshot({ oom }))).toEqual(expected));
});

describe('process.duplicate', () => {
  let pid = 100;
  const p = (argv: string[], extra: Partial<HostProcess> = {}): HostProcess => ({ pid: pid++, ppid: 1, uid: 0, argv, cwd: '/opt/a', marked: false, unit: null, ...extra });
  const worker = ['python3', '/opt/a/worker.py'];
  it.each<[string, () => HostProcess[], Expect]>([
    ['one copy', () => [p(worker)], []],
    ['two detached copies', () => [p(worker), p(worker)], [['process.duplicate', 'warning']]],
    ['the same script, relative and absolute', () => [p(['python3', 'sub/w.py']), p(['python3', '/opt/a/sub/w.py'])], [['process.duplicate', 'warning']]],
    ['a copy forked by the other (pre-fork, multiprocessing)', () => { const a = p(worker); return [a, p(worker, { ppid: a.pid })]; }, []],
    ['pool siblings of one parent (gunicorn, PM2 cluster)', () => [p(worker, { ppid: 50 }), p(worker, { ppid: 50 })], []],
    ['instances of one systemd template', () => [p(worker, { unit: 'w@1.service' }), p(worker, { unit: 'w@2.service' })], []],
    ['two nightshift runs (queue concurrency)', () => [p(worker, { marked: true }), p(worker, { marked: true })], []],
    ['a nightshift run and a copy by hand', () => [p(worker, { marked: true }), p(worker)], [['process.duplicate', 'warning']]],
    ['not an interpreted worker (two nginx masters in containers)', () => [p(['/usr/sbin/nginx', '-g', 'daemon off;']), p(['/usr/sbin/nginx', '-g', 'daemon off;'])], []],
    ['shells without a script file', () => [p(['bash', '/dev/fd/3']), p(['bash', '/dev/fd/3']), p(['bash', '-c', 'x']), p(['bash', '-c', 'x'])], []],
    ['two copies of a shell loop script', () => [p(['bash', '/opt/a/loop.sh']), p(['bash', '/opt/a/loop.sh'])], [['process.duplicate', 'warning']]],
    ['`python3 worker.py` in two projects: two workers', () => [p(['python3', 'worker.py'], { cwd: '/opt/a' }), p(['python3', 'worker.py'], { cwd: '/opt/b' })], []],
    ['`python3 worker.py` twice in one project', () => [p(['python3', 'worker.py'], { cwd: '/opt/a' }), p(['python3', 'worker.py'], { cwd: '/opt/a' })], [['process.duplicate', 'warning']]],
    ['two projects\' daemons: `node /usr/lib/nightshift/main.js up`', () => [p(['node', '/usr/lib/nightshift/main.js', 'up'], { cwd: '/opt/a' }), p(['node', '/usr/lib/nightshift/main.js', 'up'], { cwd: '/opt/b' })], []],
    ['one absolute script started from two directories', () => [p(['node', '/opt/a/app.js'], { cwd: '/' }), p(['/usr/bin/node', '/opt/a/app.js'], { cwd: '/root' })], [['process.duplicate', 'warning']]],
  ])('%s', (_name, processes, expected) => expect(run(checkDuplicates, snapshot({ processes: processes() }))).toEqual(expected));

  it("with a config: a job's command running outside nightshift, once, is reported (nightshift would start a second)", async () => {
    const job = await compileJob({ name: 'ingest', command: { kind: 'argv', argv: ['python3', '/opt/a/worker.py'] }, cwd: '/opt/a' });
    const s = snapshot({ processes: [p(worker, { pid: 4242 }), p(['python3', '/opt/a/other.py'])], duplicateJobs: [job] });
    const findings = checkDuplicates(s, NO_FLAGS);
    expect(findings.map((f) => f.title)).toEqual(['job ingest: a copy is running outside nightshift']);
    expect(findings[0]!.fix).toContain('kill 4242');
  });

  it("with a config: the job's own run (marked) is not a copy", async () => {
    const job = await compileJob({ name: 'ingest', command: { kind: 'argv', argv: ['python3', '/opt/a/worker.py'] }, cwd: '/opt/a' });
    expect(checkDuplicates(snapshot({ processes: [p(worker, { marked: true })], duplicateJobs: [job] }), NO_FLAGS)).toEqual([]);
  });
});

describe('job.root', () => {
  const job = (user: string | null) => ({ name: 'scan', user, command: 'x', path: { value: '/usr/bin', from: 'service' as const }, unresolved: [], cwd: null, envFile: null });
  it.each<[string, string | null, number | null, Expect]>([
    ['user: root', 'root', 998, [['job.root', 'warning']]],
    ['no user, daemon as root', null, 0, [['job.root', 'warning']]],
    ['no user, daemon as app', null, 998, []],
    ['no user, daemon user unknown', null, null, []],
    ['user: app', 'app', 0, []],
  ])('%s', (_name, user, daemonUid, expected) => expect(run(checkRootJobs, snapshot({ jobs: [job(user)], daemonUid }))).toEqual(expected));
});

describe('the report', () => {
  const s = snapshot({ memory: { memTotalBytes: G, memAvailableBytes: G / 2, swapTotalBytes: 0, swapFreeBytes: 0 }, mounts: [{ mountPoint: '/', fsType: 'ext4', sizeBytes: 100 * G, availBytes: G, inodes: 0, inodesFree: 0 }] });
  it('lists critical findings first; ok is false only with a critical one', () => {
    const report = reportFor(s, NO_FLAGS, []);
    expect(report.findings.map((f) => [f.id, f.severity])).toEqual([['disk.low', 'critical'], ['swap.none', 'warning']]);
    expect(report.ok).toBe(false);
  });
  it('doctor.ignore silences ids', () => {
    const report = reportFor(s, NO_FLAGS, ['disk.low']);
    expect(report.findings.map((f) => f.id)).toEqual(['swap.none']);
    expect(report.ok).toBe(true);
  });
});
