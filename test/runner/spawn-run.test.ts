/** runProcess with real processes: how a run starts, what it sees, and how its end is reported. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { runProcess } from '../../src/runner/spawn-run.ts';
import { RUN_MARKER_VAR } from '../../src/runner/types.ts';
import { Janitor, MemorySink, argv, baseEnv, fixture, makeSpec, sh } from './helpers.ts';

const janitor = new Janitor();
afterEach(() => janitor.cleanup());

function run(spec: ReturnType<typeof makeSpec>, opts?: Parameters<typeof runProcess>[1]) {
  janitor.track(spec);
  return runProcess(spec, opts);
}

describe('runProcess: exits', () => {
  it('reports the exit code and captures stdout and stderr (shell command)', async () => {
    const spec = makeSpec(sh('echo hello; echo oops >&2; exit 3'));
    const result = await run(spec);
    const sink = spec.output as MemorySink;
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 3, signal: null, orphansKilled: 0, survivors: 0 });
    expect(result.pid).toBeGreaterThan(0);
    expect(sink.text('out')).toBe('hello\n');
    expect(sink.text('err')).toBe('oops\n');
    expect(sink.endCalls).toBe(1);
  });

  it('reports a death by signal with a null exit code', async () => {
    const result = await run(makeSpec(sh('kill -USR1 $$; sleep 5')));
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: null, signal: 'SIGUSR1' });
  });

  it('runs an argv command without a shell: no word splitting, no expansion', async () => {
    const spec = makeSpec(argv('/bin/echo', 'a  b', '$HOME', '*'));
    const result = await run(spec);
    expect(result.exitCode).toBe(0);
    expect((spec.output as MemorySink).text('out')).toBe('a  b $HOME *\n');
  });

  it('runs a fixture by path with arguments', async () => {
    const spec = makeSpec(argv(fixture('exit-code.sh'), '5'));
    const result = await run(spec);
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 5 });
    expect((spec.output as MemorySink).text('err')).toBe('exiting with 5\n');
  });

  it('treats /bin/sh exit 127 (command not found inside the script) as a normal exit', async () => {
    const spec = makeSpec(sh('definitely-not-a-command-4711'));
    const result = await run(spec);
    expect(result).toMatchObject({ endedBy: 'exited', exitCode: 127, startError: null });
  });

  it('calls onSpawn with the pid before any output is read', async () => {
    const spec = makeSpec(sh('echo early'));
    const sink = spec.output as MemorySink;
    let seen: { pid: number; chunksSoFar: number } | null = null;
    const result = await run(spec, { onSpawn: (pid) => (seen = { pid, chunksSoFar: sink.chunks.out.length }) });
    expect(seen).toEqual({ pid: result.pid, chunksSoFar: 0 });
  });
});

describe('runProcess: a caller that cannot record the pid', () => {
  it('cancels the run when onSpawn throws, rather than leave an untracked process running', async () => {
    const result = await run(makeSpec(sh('sleep 30')), {
      onSpawn: () => {
        throw new Error('store is read-only');
      },
    });
    expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'onSpawn failed: store is read-only', survivors: 0 });
  });
});

describe('runProcess: what the child sees', () => {
  it('runs in cwd with exactly spec.env plus the marker, which it cannot be given from outside', async () => {
    const dir = janitor.tempDir();
    const env = baseEnv({ FOO: 'bar baz', [RUN_MARKER_VAR]: 'forged' });
    const spec = makeSpec(argv('/usr/bin/env'), { cwd: dir, env });
    const pwdSpec = makeSpec(sh('pwd'), { cwd: dir });
    await run(spec);
    await run(pwdSpec);
    const printed = (spec.output as MemorySink).text('out').trim().split('\n').sort();
    const expected = Object.entries({ ...env, [RUN_MARKER_VAR]: spec.runId }).map(([k, v]) => `${k}=${v}`).sort();
    expect(printed).toEqual(expected);
    expect((pwdSpec.output as MemorySink).text('out').trim()).toBe(dir);
  });

  it('gets /dev/null as stdin', async () => {
    const spec = makeSpec(sh('cat; echo "stdin closed"'));
    const result = await run(spec);
    expect(result.exitCode).toBe(0);
    expect((spec.output as MemorySink).text('out')).toBe('stdin closed\n');
  });

  it.skipIf(process.getuid?.() !== 0)('runs as spec.user', async () => {
    const spec = makeSpec(sh('id -u; id -g'), { user: { uid: 65534, gid: 65534 } });
    const result = await run(spec);
    expect(result.exitCode).toBe(0);
    expect((spec.output as MemorySink).text('out')).toBe('65534\n65534\n');
  });
});

describe('runProcess: start failures', () => {
  it('names a missing command, the cwd and PATH', async () => {
    const spec = makeSpec(argv('python9-not-here', 'run.py'));
    const result = await run(spec);
    expect(result.endedBy).toBe('start_failed');
    expect(result.pid).toBeNull();
    expect(result.startError).toContain('spawn python9-not-here ENOENT');
    expect(result.startError).toContain("command 'python9-not-here' not found on PATH");
    expect(result.startError).toContain(`cwd ${spec.cwd}`);
    expect(result.startError).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect((spec.output as MemorySink).endCalls).toBe(1);
  });

  it('tells a missing working directory apart from a missing command', async () => {
    for (const command of [argv('/bin/true'), sh('true')]) {
      const result = await run(makeSpec(command, { cwd: '/nonexistent/project-dir' }));
      expect(result.endedBy).toBe('start_failed');
      expect(result.startError).toContain('working directory /nonexistent/project-dir does not exist');
    }
  });

  it('explains a file that is not executable', async () => {
    const dir = janitor.tempDir();
    const script = join(dir, 'run.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const result = await run(makeSpec(argv(script), { cwd: dir }));
    expect(result.endedBy).toBe('start_failed');
    expect(result.startError).toContain('EACCES');
    expect(result.startError).toContain('not executable');
  });

  it('explains a script whose #! interpreter is missing', async () => {
    const dir = janitor.tempDir();
    const script = join(dir, 'run.py');
    writeFileSync(script, '#!/usr/bin/python9-not-here\nprint(1)\n');
    chmodSync(script, 0o755);
    const result = await run(makeSpec(argv('./run.py'), { cwd: dir }));
    expect(result.endedBy).toBe('start_failed');
    expect(result.startError).toContain('its interpreter (the #! line) was not found');
  });

  it('starts nothing when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort('shutdown');
    const spec = makeSpec(sh('echo should-not-run'));
    const result = await run(spec, { signal: ac.signal });
    expect(result).toMatchObject({ endedBy: 'cancelled', cancelReason: 'shutdown', pid: null });
    expect((spec.output as MemorySink).text('out')).toBe('');
  });
});
