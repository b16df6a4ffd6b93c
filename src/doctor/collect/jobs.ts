/**
 * Facts about each configured job: the PATH it will have and whether its command (and the command's `#!`
 * interpreter) resolves on it, and the modes of its directory and env file. Config paths are host paths; under
 * --root DIR they are read under DIR.
 */
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { posix } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { JobConfig } from '../../config/types.ts';
import { findOnHost } from '../../supervisor/start-failure.ts';
import { displayCommand, shellWords } from '../../watch/duplicate-match.ts';
import type { JobFacts } from '../types.ts';
import type { HostFs } from './host-fs.ts';

/** Words a shell runs itself: nothing to find on PATH. */
const BUILTINS = new Set(['cd', 'echo', 'exec', 'exit', 'export', 'set', 'source', '.', 'test', '[', 'true', 'false', 'printf', 'read', 'eval', 'trap', 'ulimit', 'umask', 'wait', ':', 'if', 'for', 'while', 'until', 'case', '{', '(']);

export async function collectJob(fs: HostFs, job: JobConfig, servicePath: string, shellPath: string | null): Promise<JobFacts> {
  const path = await jobPath(fs, job, servicePath);
  const unresolved: JobFacts['unresolved'] = [];
  const program = firstProgram(job);
  if (program !== null) {
    const found = await resolve(fs, program, job.cwd, path.value);
    if (found === null) unresolved.push(await describeMissing(fs, program, shellPath));
    else {
      const interpreter = await shebangProgram(fs, found);
      if (interpreter !== null && (await resolve(fs, interpreter, job.cwd, path.value)) === null) unresolved.push(await describeMissing(fs, interpreter, shellPath));
    }
  }
  const [cwd, envFile] = await Promise.all([fs.mode(job.cwd), job.envFile ? fs.mode(job.envFile) : null]);
  return { name: job.name, user: job.user, command: displayCommand(job.command), path, unresolved, cwd, envFile };
}

/** The job's PATH: its `env`, else its env_file, else what a daemon run by systemd has. */
async function jobPath(fs: HostFs, job: JobConfig, servicePath: string): Promise<JobFacts['path']> {
  if (job.env['PATH'] !== undefined) return { value: job.env['PATH'], from: 'env' };
  if (job.envFile) {
    const text = await fs.text(job.envFile);
    const value = text === null ? undefined : parseDotenv(text)['PATH'];
    if (value !== undefined) return { value, from: 'env_file' };
  }
  return { value: servicePath, from: 'service' };
}

/** argv[0], or the first word of a shell command; null when it cannot be known (`$CMD`, a builtin). */
export function firstProgram(job: Pick<JobConfig, 'command'>): string | null {
  let word: string | undefined;
  if (job.command.kind === 'argv') word = job.command.argv[0];
  else {
    const words = shellWords(job.command.script) ?? job.command.script.trim().split(/[\s;&|]+/).filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    word = words[0] === 'exec' ? words[1] : words[0];
  }
  if (word === undefined || word === '' || BUILTINS.has(word) || /[$`*?~'"]/.test(word)) return null;
  return word;
}

/** Where `program` is run from (host path), or null when nowhere on `pathValue` / not executable. */
async function resolve(fs: HostFs, program: string, cwd: string, pathValue: string): Promise<string | null> {
  if (program.includes('/')) {
    const absolute = posix.resolve(cwd, program);
    return (await executable(fs, absolute)) ? absolute : null;
  }
  for (const dir of pathValue.split(':')) {
    if (!dir.startsWith('/')) continue; // an empty or relative PATH entry depends on the cwd: not counted on
    const candidate = posix.join(dir, program);
    if (await executable(fs, candidate)) return candidate;
  }
  return null;
}

async function executable(fs: HostFs, hostPath: string): Promise<boolean> {
  try {
    await access(fs.at(hostPath), constants.X_OK);
    return (await fs.isDir(hostPath)) === false;
  } catch {
    return false;
  }
}

/** The program a `#!` line needs: `/usr/bin/env python3` → python3; `/usr/bin/ruby` → /usr/bin/ruby. */
async function shebangProgram(fs: HostFs, hostPath: string): Promise<string | null> {
  let head = '';
  try {
    const handle = await open(fs.at(hostPath), 'r');
    try {
      const buffer = Buffer.alloc(256);
      const { bytesRead } = await handle.read(buffer, 0, 256, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  const match = /^#!\s*(\S+)(.*)$/m.exec(head.split('\n')[0] ?? '');
  if (!match) return null;
  const interpreter = match[1]!;
  if (posix.basename(interpreter) !== 'env') return interpreter;
  const args = match[2]!.trim().split(/\s+/).filter((w) => w !== '' && !w.startsWith('-') && !w.includes('='));
  return args[0] ?? null;
}

async function describeMissing(fs: HostFs, program: string, shellPath: string | null): Promise<JobFacts['unresolved'][number]> {
  const foundElsewhere = program.includes('/') ? [] : findOnHost(program, undefined, fs.root);
  let onShellPath: string | null = null;
  if (shellPath !== null && !program.includes('/')) onShellPath = await resolve(fs, program, '/', shellPath);
  return { program, foundElsewhere, onShellPath };
}
