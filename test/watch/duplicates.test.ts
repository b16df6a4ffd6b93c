/**
 * Duplicate workers (seed 001): the /proc scan over fixture trees (a table of matching edge cases), the same scan over
 * the real /proc with real processes, and the watch that decides when to scan and what to report.
 *
 * A fixture tree is a fake host root: `<root>/proc/<pid>/{cmdline,environ,stat,status,cgroup,cwd}`, `<root>/proc/stat`
 * (btime) and `<root>/etc/passwd`; job directories with their files under `<root>/opt/…`. The tests run as root here,
 * so an unreadable environ is written as a directory (open works, read fails with EISDIR, as a read of another
 * user's environ fails with EACCES).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { defaultJob } from '../../src/config/default-job.ts';
import type { CommandSpec, JobConfig } from '../../src/config/types.ts';
import { DuplicateWatch, duplicateIncident } from '../../src/watch/duplicate-watch.ts';
import { displayArgv, DuplicateScanner, shellWords, type DuplicateFinding, type DuplicateJob, type DuplicateProcess } from '../../src/watch/duplicates.ts';
import { waitFor } from '../helpers/wait-for.ts';

const BTIME = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAEMON = 900;
const MARK = 'NIGHTSHIFT_RUN_ID=01TESTRUNAAAAAAAAAAAAAAAAA';

interface FakeProc {
  pid: number;
  /** null: no cmdline file (gone); []: empty (kernel thread, zombie). */
  argv: string[] | null;
  /** null: unreadable. Default: no marker. */
  environ?: string[] | null;
  state?: string;
  ppid?: number;
  pgid?: number;
  sid?: number;
  /** Clock ticks since boot. */
  start?: number;
  uid?: number;
  cwd?: string;
  cgroup?: string;
  /** PF_KTHREAD in stat's flags. */
  kthread?: boolean;
}

/** A stat line as the kernel writes it (fields past 22 trimmed). */
function statLine(p: FakeProc): string {
  const flags = p.kthread ? 0x208040 : 0x400100;
  const fields = [p.state ?? 'S', p.ppid ?? 1, p.pgid ?? p.pid, p.sid ?? p.pid, 0, -1, flags, ...Array(12).fill(0), p.start ?? 5000];
  return `${p.pid} (${(p.argv?.[0] ?? 'x').split('/').pop()!.slice(0, 15)}) ${fields.join(' ')} 0 0\n`;
}

function writeProc(root: string, p: FakeProc): void {
  const dir = join(root, 'proc', String(p.pid));
  mkdirSync(dir, { recursive: true });
  if (p.argv !== null) writeFileSync(join(dir, 'cmdline'), p.argv.length ? p.argv.join('\0') + '\0' : '');
  if (p.environ === null) mkdirSync(join(dir, 'environ'));
  else writeFileSync(join(dir, 'environ'), [...(p.environ ?? ['PATH=/usr/bin:/bin', 'HOME=/root'])].join('\0') + '\0');
  writeFileSync(join(dir, 'stat'), statLine(p));
  writeFileSync(join(dir, 'status'), `Name:\tx\nState:\tS (sleeping)\nUid:\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\n`);
  writeFileSync(join(dir, 'cgroup'), `0::${p.cgroup ?? '/user.slice'}\n`);
  symlinkSync(p.cwd ?? '/root', join(dir, 'cwd'));
}

/** A host with init, kthreadd, a kernel thread and the daemon (pid 900, child of 899, child of 1). */
function makeHost(procs: FakeProc[], files: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'ns-dup-'));
  mkdirSync(join(root, 'proc'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'proc', 'stat'), `cpu  1 2 3 4\nbtime ${BTIME}\nprocesses 1234\n`);
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/bash\n');
  for (const file of ['/opt/app/run.py', '/opt/app/worker.js', '/opt/app/worker.sh', ...files]) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    writeFileSync(join(root, file), '');
  }
  const base: FakeProc[] = [
    { pid: 1, argv: ['/sbin/init'], ppid: 0, start: 1 },
    { pid: 2, argv: [], ppid: 0, start: 1, kthread: true },
    { pid: 40, argv: [], ppid: 2, start: 2, kthread: true },
    { pid: 899, argv: ['bash'], start: 100 },
    { pid: DAEMON, argv: ['node', '/opt/nightshift/dist/cli/main.js', 'up'], ppid: 899, start: 200 },
  ];
  for (const p of [...base, ...procs]) writeProc(root, p);
  return root;
}

const shell = (script: string): CommandSpec => ({ kind: 'shell', script });
const argv = (...args: [string, ...string[]]): CommandSpec => ({ kind: 'argv', argv: args });
const PY = argv('python3', 'run.py', '--full');
const PY_SHELL = shell('python3 run.py --full');

interface Case {
  name: string;
  command: CommandSpec;
  procs: FakeProc[];
  /** The pids reported for the job. */
  expected: number[];
  /** Pids counted as unverified. */
  unverified?: number[];
  files?: string[];
}

const CASES: Case[] = [
  { name: 'argv job vs the executable resolved and the script absolute', command: PY, procs: [{ pid: 100, argv: ['/usr/bin/python3', '/opt/app/run.py', '--full'] }], expected: [100] },
  { name: 'argv job vs the same relative script run in the job directory', command: PY, procs: [{ pid: 100, argv: ['python3', 'run.py', '--full'], cwd: '/opt/app' }], expected: [100] },
  { name: 'the same relative script name run in another directory is another file', command: PY, procs: [{ pid: 100, argv: ['python3', 'run.py', '--full'], cwd: '/home/bob' }], expected: [] },
  { name: 'interpreter script: node worker.js vs /usr/bin/node /opt/app/worker.js', command: argv('node', 'worker.js'), procs: [{ pid: 100, argv: ['/usr/bin/node', '/opt/app/worker.js'] }], expected: [100] },
  { name: 'a relative path with ../ from another directory', command: argv('node', 'worker.js'), procs: [{ pid: 100, argv: ['node', '../app/worker.js'], cwd: '/opt/other' }], expected: [100] },
  { name: 'different args are not a match', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--dry-run'] }], expected: [] },
  { name: 'an extra arg is not a match', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full', '--verbose'] }], expected: [] },
  { name: 'a missing arg is not a match', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py'] }], expected: [] },
  { name: 'another interpreter name is not a match', command: PY, procs: [{ pid: 100, argv: ['python2', '/opt/app/run.py', '--full'] }], expected: [] },
  { name: 'a process carrying a run marker is ignored', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'], environ: ['PATH=/bin', MARK] }], expected: [] },
  { name: "another daemon's marker counts too", command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'], environ: ['NIGHTSHIFT_RUN_ID=01OTHERDAEMONRUN'] }], expected: [] },
  { name: 'a marker-like value of another variable is no marker', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'], environ: [`NOTE=${MARK}`, 'XNIGHTSHIFT_RUN_ID=1'] }], expected: [100] },
  { name: 'a zombie is ignored', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'], state: 'Z' }], expected: [] },
  { name: 'a kernel thread is ignored', command: argv('kworker'), procs: [{ pid: 41, argv: ['kworker'], ppid: 2, kthread: true }], expected: [] },
  { name: "a child of pid 2 that is no kernel thread (pid 2 in a container's namespace)", command: argv('kworker'), procs: [{ pid: 41, argv: ['kworker'], ppid: 2 }], expected: [41] },
  { name: 'an unreadable environ is not reported but counted', command: PY, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'], environ: null }], expected: [], unverified: [100] },
  { name: "the daemon's own pid is never reported", command: argv('node', '/opt/nightshift/dist/cli/main.js', 'up'), procs: [], expected: [] },
  { name: "the daemon's ancestors are never reported", command: argv('bash'), procs: [{ pid: 101, argv: ['bash'], ppid: 1 }], expected: [101] },
  { name: 'shell job vs a hand-started argv copy', command: PY_SHELL, procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'] }], expected: [100] },
  { name: 'shell job vs an exact sh -c copy', command: PY_SHELL, procs: [{ pid: 100, argv: ['/bin/sh', '-c', 'python3 run.py --full'] }], expected: [100] },
  { name: 'shell job: sh -c with another script is not a match', command: PY_SHELL, procs: [{ pid: 100, argv: ['/bin/sh', '-c', 'python3 run.py --full; echo done'] }], expected: [] },
  { name: 'shell job with quotes and an assignment', command: shell(`MODE=full exec python3 run.py --note 'two words'`), procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--note', 'two words'] }], expected: [100] },
  { name: 'shell pipeline: only the exact sh -c form is matched', command: shell('python3 run.py --full | tee out.log'), procs: [{ pid: 100, argv: ['python3', '/opt/app/run.py', '--full'] }, { pid: 101, argv: ['sh', '-c', 'python3 run.py --full | tee out.log'] }], expected: [101] },
  { name: 'a run child that cleared its environment, in the marked leader’s process group', command: PY_SHELL, procs: [{ pid: 300, argv: ['/bin/sh', '-c', 'python3 run.py --full'], environ: [MARK] }, { pid: 301, argv: ['python3', 'run.py', '--full'], environ: [], ppid: 1, pgid: 300, sid: 300, cwd: '/opt/app' }], expected: [] },
  { name: 'a run child that left the group but not the session', command: PY, procs: [{ pid: 300, argv: ['/bin/sh', '-c', 'x'], environ: [MARK] }, { pid: 301, argv: ['python3', '/opt/app/run.py', '--full'], environ: [], ppid: 1, pgid: 301, sid: 300 }], expected: [] },
  { name: 'a run descendant that left group and session, under a marked ancestor', command: PY, procs: [{ pid: 300, argv: ['/bin/sh', '-c', 'x'], environ: [MARK] }, { pid: 301, argv: ['python3', '/opt/app/run.py', '--full'], environ: [], ppid: 300, pgid: 301, sid: 301 }], expected: [] },
  { name: "a process in a run's cgroup", command: PY, procs: [{ pid: 301, argv: ['python3', '/opt/app/run.py', '--full'], environ: [], cgroup: '/system.slice/nightshift.service/nightshift-runs/run-01TEST' }], expected: [] },
  { name: 'a copy in a login session beside nothing marked', command: PY, procs: [{ pid: 500, argv: ['-bash'], uid: 1000 }, { pid: 501, argv: ['python3', '/opt/app/run.py', '--full'], ppid: 500, pgid: 501, sid: 500, uid: 1000 }], expected: [501] },
  { name: '#! script run by its interpreter, relative', command: argv('./worker.sh', '--full'), procs: [{ pid: 100, argv: ['/bin/bash', './worker.sh', '--full'], cwd: '/opt/app' }], expected: [100] },
  { name: '#! script with an interpreter option, absolute', command: argv('./worker.sh', '--full'), procs: [{ pid: 100, argv: ['/bin/bash', '-e', '/opt/app/worker.sh', '--full'] }], expected: [100] },
  { name: 'a script found on PATH, as the kernel hands it to its interpreter', command: argv('rivet-worker'), procs: [{ pid: 100, argv: ['/usr/bin/python3', '/usr/local/bin/rivet-worker'] }], expected: [100] },
  { name: 'a wrapper (sudo, nohup) is not itself the job', command: PY, procs: [{ pid: 100, argv: ['sudo', 'python3', 'run.py', '--full'], cwd: '/opt/app' }], expected: [] },
  { name: 'two executables at different paths without a script are different programs', command: argv('/opt/a/bin/server', '--port', '80'), procs: [{ pid: 100, argv: ['/opt/b/bin/server', '--port', '80'] }, { pid: 101, argv: ['/opt/a/bin/server', '--port', '80'] }], expected: [101] },
  { name: 'words that are not files compare literally, from any directory', command: argv('node', '-e', 'setInterval(()=>{},1000)', 'worker-copy'), procs: [{ pid: 100, argv: ['/usr/bin/node', '-e', 'setInterval(()=>{},1000)', 'worker-copy'], cwd: '/somewhere' }], expected: [100] },
  { name: 'a process that vanished between the listing and the read', command: PY, procs: [{ pid: 100, argv: null }], expected: [] },
];

describe('DuplicateScanner over a fixture /proc', () => {
  let root: string | null = null;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = null;
  });

  it.each(CASES)('$name', async ({ command, procs, expected, unverified = [], files }) => {
    root = makeHost(procs, files);
    const scanner = new DuplicateScanner({ root, selfPid: DAEMON });
    const job: DuplicateJob = { name: 'scan', command, cwd: '/opt/app' };
    const { findings, stats } = await scanner.scanWithStats([job]);
    expect(findings.flatMap((f) => f.pids.map((p) => p.pid))).toEqual(expected);
    expect(findings.every((f) => f.job === 'scan' && f.pids.length > 0)).toBe(true);
    expect([...new Set(stats.unverified.map((u) => u.pid))]).toEqual(unverified);
  });

  it('describes each duplicate: command line, user from passwd, start time from btime + starttime', async () => {
    root = makeHost([{ pid: 501, argv: ['python3', '/opt/app/run.py', '--note', 'two words'], uid: 1000, start: 360_000 }]);
    const findings = await new DuplicateScanner({ root, selfPid: DAEMON }).scan([{ name: 'scan', command: argv('python3', 'run.py', '--note', 'two words'), cwd: '/opt/app' }]);
    expect(findings).toEqual<DuplicateFinding[]>([
      {
        job: 'scan',
        pids: [{ pid: 501, argv: ['python3', '/opt/app/run.py', '--note', 'two words'], cmdline: "python3 /opt/app/run.py --note 'two words'", uid: 1000, user: 'bob', startedAt: '2026-01-01T01:00:00.000Z' }],
      },
    ]);
  });

  it('reports a process under every job whose command it runs, and each job only its own', async () => {
    root = makeHost([
      { pid: 100, argv: ['python3', '/opt/app/run.py', '--full'] },
      { pid: 101, argv: ['node', '/opt/app/worker.js'] },
      { pid: 102, argv: ['node', '/opt/app/worker.js'], environ: [MARK] },
    ]);
    const findings = await new DuplicateScanner({ root, selfPid: DAEMON }).scan([
      { name: 'a', command: PY, cwd: '/opt/app' },
      { name: 'b', command: PY_SHELL, cwd: '/opt/app' },
      { name: 'c', command: argv('node', 'worker.js'), cwd: '/opt/app' },
      { name: 'd', command: argv('node', 'other.js'), cwd: '/opt/app' },
    ]);
    expect(findings.map((f) => [f.job, f.pids.map((p) => p.pid)])).toEqual([
      ['a', [100]],
      ['b', [100]],
      ['c', [101]],
    ]);
  });

  it('reads environ, stat and status only for processes whose command line matched', async () => {
    const others: FakeProc[] = Array.from({ length: 200 }, (_, i) => ({ pid: 1000 + i, argv: ['python3', `/srv/other${i}.py`], environ: null }));
    root = makeHost([...others, { pid: 100, argv: ['python3', '/opt/app/run.py', '--full'] }]);
    const { findings, stats } = await new DuplicateScanner({ root, selfPid: DAEMON }).scanWithStats([{ name: 'scan', command: PY, cwd: '/opt/app' }]);
    expect(findings.map((f) => f.pids.map((p) => p.pid))).toEqual([[100]]);
    // 200 unreadable environs were never opened: none of them is counted.
    expect(stats).toMatchObject({ processes: 206, candidates: 1, marked: 0, unverified: [] });
  });
});

describe('shellWords', () => {
  it.each([
    ['python3 run.py --full', ['python3', 'run.py', '--full']],
    ['  node\tworker.js  ', ['node', 'worker.js']],
    [`echo 'a b' "c \\"d\\"" e\\ f ''`, ['echo', 'a b', 'c "d"', 'e f', '']],
    ['A=1 B=2 exec ./worker --x=1', ['./worker', '--x=1']],
    ['python3 run.py | tee log', null],
    ['cd /opt && ./run', null],
    ['run $HOME', null],
    ['run "$HOME"', null],
    ['run *.py', null],
    ['run ~/x', null],
    ["run 'unterminated", null],
    ['a\nb', null],
    ['A=1', null],
  ])('%j', (script, words) => {
    expect(shellWords(script)).toEqual(words);
  });

  it('displayArgv quotes what a shell would not take as it is', () => {
    expect(displayArgv(['python3', 'run.py', 'two words', "it's", ''])).toBe(`python3 run.py 'two words' 'it'\\''s' ''`);
  });
});

describe('DuplicateScanner over the real /proc', () => {
  /** What a test started, killed by pid (a `group` leader: its whole process group, by -pid) after each test. */
  const started: { child: ChildProcess; group: boolean }[] = [];
  afterEach(async () => {
    for (const { child, group } of started.splice(0)) {
      if (child.pid === undefined) continue;
      const exited = child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null;
      try {
        process.kill(group ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  });

  function start(args: string[], env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
    const child = spawn(process.execPath, args, { env, cwd, stdio: 'ignore' });
    started.push({ child, group: false });
    return child;
  }

  it('finds exactly the unmarked copy of a job, not the marked one', async () => {
    const tag = `worker-copy-${process.pid}-${Date.now()}`;
    const script = 'setInterval(()=>{},1000)';
    const env = { ...process.env };
    delete env.NIGHTSHIFT_RUN_ID;
    const cwd = tmpdir();
    const unmarked = start(['-e', script, tag], env, cwd);
    const marked = start(['-e', script, tag], { ...env, NIGHTSHIFT_RUN_ID: '01TESTDUPLICATEMARKEDCOPY0' }, cwd);
    const job: DuplicateJob = { name: 'worker', command: argv('node', '-e', script, tag), cwd };
    const scanner = new DuplicateScanner();
    // spawn() returns after exec, so both command lines are final; wait only for the scan to see both.
    const { findings, stats } = await waitFor(async () => {
      const scan = await scanner.scanWithStats([job]);
      return scan.stats.candidates === 2 ? scan : null;
    }, 5000, 'both copies in /proc');
    expect(stats.marked).toBe(1);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.pids.map((p) => p.pid)).toEqual([unmarked.pid]);
    expect(findings[0]!.pids.map((p) => p.pid)).not.toContain(marked.pid);
    const found = findings[0]!.pids[0]!;
    expect(found.argv).toEqual([process.execPath, '-e', script, tag]);
    expect(found.uid).toBe(process.getuid!());
    expect(Math.abs(Date.parse(found.startedAt!) - Date.now())).toBeLessThan(60_000);
  });

  it('matches a shell job against a hand-started copy and leaves its own marked run alone', async () => {
    const tag = `shell-copy-${process.pid}-${Date.now()}`;
    const env = { ...process.env };
    delete env.NIGHTSHIFT_RUN_ID;
    const cwd = tmpdir();
    const script = `${process.execPath} -e 'setInterval(()=>{},1000)' ${tag}`;
    // The "run": sh -c SCRIPT with the marker, as the runner starts it (sh may exec node or keep a child).
    const run = spawn('/bin/sh', ['-c', script], { env: { ...env, NIGHTSHIFT_RUN_ID: '01TESTDUPLICATESHELLRUN000' }, cwd, stdio: 'ignore', detached: true });
    started.push({ child: run, group: true });
    const copy = start(['-e', 'setInterval(()=>{},1000)', tag], env, cwd);
    const job: DuplicateJob = { name: 'worker', command: shell(script), cwd };
    const scanner = new DuplicateScanner();
    const findings = await waitFor(async () => {
      const scan = await scanner.scanWithStats([job]);
      return scan.stats.marked >= 1 ? scan.findings : null;
    }, 5000, 'the marked run in /proc');
    expect(findings.flatMap((f) => f.pids.map((p) => p.pid))).toEqual([copy.pid]);
  });
});

describe('DuplicateWatch', () => {
  function job(name: string, kind: JobConfig['kind'] = 'scheduled'): JobConfig {
    return { ...defaultJob(name, '/opt/app'), kind, command: PY, restartBackoff: { initialMs: 1000, maxMs: 300_000 } };
  }

  function proc(pid: number): DuplicateProcess {
    return { pid, argv: ['python3', 'run.py'], cmdline: 'python3 run.py', uid: 0, user: 'root', startedAt: `2026-01-01T00:00:0${pid % 10}.000Z` };
  }

  /** A scanner whose answer the test sets; records which jobs each scan was asked about. */
  function fakeScanner() {
    const state = { found: new Map<string, number[]>(), calls: [] as string[][] };
    return {
      state,
      scan: async (jobs: readonly DuplicateJob[]): Promise<DuplicateFinding[]> => {
        state.calls.push(jobs.map((j) => j.name));
        return jobs.filter((j) => (state.found.get(j.name) ?? []).length > 0).map((j) => ({ job: j.name, pids: state.found.get(j.name)!.map(proc) }));
      },
    };
  }

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(jobs: JobConfig[]) {
    const scanner = fakeScanner();
    const events: string[] = [];
    const watch = new DuplicateWatch({
      scanner,
      jobs: () => jobs,
      onFound: async (j, pids) => void events.push(`found ${j.name} ${pids.map((p) => p.pid).join(',')}`),
      onCleared: async (j) => void events.push(`cleared ${j.name}`),
      everyMs: 30_000,
    });
    return { scanner, events, watch };
  }

  it('has no timer while nothing runs, scans right before a run starts, then every interval while it runs', async () => {
    const scan = job('scan');
    const { scanner, watch } = setup([scan]);
    expect(watch.nextScanAt).toBeNull();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(scanner.state.calls).toEqual([]);

    await watch.runStarting(scan);
    expect(scanner.state.calls).toEqual([['scan']]);
    expect(watch.nextScanAt).toBe(Date.now() + 30_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scanner.state.calls).toHaveLength(3);

    watch.runEnded(scan);
    expect(watch.nextScanAt).toBeNull();
    expect(watch.watching).toEqual([]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(scanner.state.calls).toHaveLength(3);
    await watch.stop();
  });

  it('reports once per distinct set of pids, and cleared once when they are gone', async () => {
    const scan = job('scan');
    const { scanner, events, watch } = setup([scan]);
    scanner.state.found.set('scan', [101]);
    await watch.runStarting(scan);
    await vi.advanceTimersByTimeAsync(90_000); // three more scans, same set
    expect(events).toEqual(['found scan 101']);
    scanner.state.found.set('scan', [101, 102]);
    await vi.advanceTimersByTimeAsync(30_000);
    scanner.state.found.set('scan', []);
    await vi.advanceTimersByTimeAsync(30_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events).toEqual(['found scan 101', 'found scan 101,102', 'cleared scan']);
    watch.runEnded(scan);
    await watch.stop();
  });

  it('keeps watching a job whose duplicate is still reported after its run ended, until it clears', async () => {
    const scan = job('scan');
    const { scanner, events, watch } = setup([scan]);
    scanner.state.found.set('scan', [101]);
    await watch.runStarting(scan);
    watch.runEnded(scan);
    expect(watch.watching).toEqual(['scan']);
    expect(watch.nextScanAt).not.toBeNull();
    scanner.state.found.delete('scan');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events).toEqual(['found scan 101', 'cleared scan']);
    expect(watch.watching).toEqual([]);
    expect(watch.nextScanAt).toBeNull();
    await watch.stop();
  });

  it('follows a duplicate found by a scan during which the run ended', async () => {
    const scan = job('scan');
    let release: (() => void) | null = null;
    const scanner = fakeScanner();
    const slow = {
      scan: async (jobs: readonly DuplicateJob[]) => {
        if (release === null && scanner.state.calls.length === 0) await new Promise<void>((resolve) => (release = resolve));
        return scanner.scan(jobs);
      },
    };
    const events: string[] = [];
    const watch = new DuplicateWatch({
      scanner: slow,
      jobs: () => [scan],
      onFound: async (j) => void events.push(`found ${j.name}`),
      onCleared: async (j) => void events.push(`cleared ${j.name}`),
      everyMs: 30_000,
    });
    scanner.state.found.set('scan', [101]);
    const first = watch.runStarting(scan);
    watch.runEnded(scan); // a quick run: over before the scan that preceded it is done
    release!();
    await first;
    expect(events).toEqual(['found scan']);
    expect(watch.watching).toEqual(['scan']);
    scanner.state.found.delete('scan');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events).toEqual(['found scan', 'cleared scan']);
    expect(watch.nextScanAt).toBeNull();
    await watch.stop();
  });

  it('keeps a service watched between its runs, and lets it lapse when it does not come back', async () => {
    const chat = job('chat', 'service');
    const { scanner, watch } = setup([chat]);
    await watch.runStarting(chat);
    watch.runEnded(chat); // the supervisor restarts it within restartBackoff.maxMs (5 min)
    expect(watch.watching).toEqual(['chat']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(scanner.state.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(300_000); // crash_loop hold: no restart came
    expect(watch.watching).toEqual([]);
    expect(watch.nextScanAt).toBeNull();
    const calls = scanner.state.calls.length;
    await vi.advanceTimersByTimeAsync(300_000);
    expect(scanner.state.calls).toHaveLength(calls);
    await watch.stop();
  });

  it('scans every watched job in one pass, shares one follow-up among requests during a scan, and drops removed jobs', async () => {
    const a = job('a');
    const b = job('b');
    const jobs = [a, b];
    const { scanner, events, watch } = setup(jobs);
    scanner.state.found.set('b', [7]);
    await Promise.all([watch.runStarting(a), watch.runStarting(b), watch.runStarting(b)]);
    expect(scanner.state.calls).toEqual([['a'], ['a', 'b']]);
    expect(events).toEqual(['found b 7']);
    jobs.splice(1, 1); // a reload removed b: watched while its runs go on, then dropped and cleared
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events).toEqual(['found b 7']);
    expect(scanner.state.calls.at(-1)).toEqual(['a', 'b']);
    watch.runEnded(b);
    watch.runEnded(b);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events).toEqual(['found b 7', 'cleared b']);
    expect(scanner.state.calls.at(-1)).toEqual(['a']);
    await watch.stop();
  });

  it('after a daemon restart, follows an incident opened before it until the duplicates are gone', async () => {
    const scan = job('scan');
    const { scanner, events, watch } = setup([scan]);
    scanner.state.found.set('scan', [101]);
    await watch.reportedBefore(scan);
    expect(events).toEqual(['found scan 101']); // told again: the incident gets the current pids
    scanner.state.found.delete('scan');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(events).toEqual(['found scan 101', 'cleared scan']);
    await watch.reportedBefore(scan); // gone while the daemon was down: cleared at the first scan
    expect(events).toEqual(['found scan 101', 'cleared scan', 'cleared scan']);
    expect(watch.nextScanAt).toBeNull();
    await watch.stop();
  });

  it('tries a report again at the next scan when it failed', async () => {
    const scan = job('scan');
    const scanner = fakeScanner();
    scanner.state.found.set('scan', [101]);
    let failures = 1;
    const found: number[][] = [];
    const errors: unknown[] = [];
    const watch = new DuplicateWatch({
      scanner,
      jobs: () => [scan],
      onFound: async (_j, pids) => {
        if (failures-- > 0) throw new Error('store down');
        found.push(pids.map((p) => p.pid));
      },
      onCleared: async () => {},
      everyMs: 30_000,
      onError: (error) => errors.push(error),
    });
    await watch.runStarting(scan);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(found).toEqual([[101]]);
    await watch.stop();
  });

  it('duplicateIncident names the pids and what to do', () => {
    const incident = duplicateIncident(job('scan'), [proc(101), proc(102)]);
    expect(incident).toMatchObject({ kind: 'process.duplicate', subject: 'scan' });
    expect(incident.summary).toBe('job scan: 2 copies of its command running outside nightshift (pid 101, 102: python3 run.py)');
    expect(incident.detail.pids).toEqual([
      { pid: 101, user: 'root', started_at: '2026-01-01T00:00:01.000Z', cmdline: 'python3 run.py' },
      { pid: 102, user: 'root', started_at: '2026-01-01T00:00:02.000Z', cmdline: 'python3 run.py' },
    ]);
    expect(incident.detail.since).toBe('2026-01-01T00:00:01.000Z');
    expect(incident.detail.fix).toContain('kill 101 102');
  });
});
