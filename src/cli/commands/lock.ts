/**
 * `nightshift lock NAME [--ttl D] [--wait D] -- CMD…`: runs CMD while holding the named lock — flock(1) for jobs that
 * share a daemon or a state database (docs/coordination.md). Exits 75 (EX_TEMPFAIL: try later) when the lock stays
 * held for --wait; otherwise with CMD's own exit code (128+N for signal N).
 *
 * The lock names this process: it is renewed every third of its ttl while CMD runs and released when CMD exits. If
 * this process is killed (even with SIGKILL) the lock is reclaimed by the next caller at once; if it hangs, after the
 * ttl. A renewal that finds the lock taken over (the machine slept past the ttl) stops CMD: two holders must not run.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Command } from 'commander';
import { COORDINATION } from '../../config/defaults.ts';
import { connectCoordination, durationFlag, type HeldLock } from '../coordination-backend.ts';
import { usageError } from '../errors.ts';
import { printJson } from '../format.ts';

/** EX_TEMPFAIL: the lock is held by someone else; the same code a run exits with to be retried later. */
export const EXIT_LOCK_HELD = 75;
const EXIT_CANNOT_START = 127;

interface LockFlags {
  ttl?: string;
  wait?: string;
  json?: boolean;
}

export function registerLock(program: Command): void {
  program
    .command('lock')
    .argument('<name>', 'the lock, e.g. publish (shared by every job, script and SDK call on this daemon or state)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--ttl <duration>', `how long the lock outlives this process if it hangs (renewed while CMD runs)`, COORDINATION.lock.ttl)
    .option('--wait <duration>', 'how long to wait for the lock when it is held (then exit 75)', COORDINATION.lock.wait)
    .option('--json', 'print the lock taken (or null when it stayed held) as JSON before CMD runs')
    .description('run a command while holding a named lock; exit 75 when the lock stays held')
    .action(async (name: string, argv: string[], flags: LockFlags, command: Command) => {
      const ttlMs = durationFlag(flags.ttl, '--ttl', COORDINATION.lock.ttl);
      const waitMs = durationFlag(flags.wait, '--wait', COORDINATION.lock.wait);
      if (argv.length === 0) throw usageError('nothing to run: put the command after --, e.g. nightshift lock publish -- ./publish.sh');
      const backend = await connectCoordination(command);
      try {
        const outcome = await backend.acquire(name, ttlMs, waitMs);
        if (outcome.lock === null) {
          if (flags.json) printJson(null);
          const holder = outcome.heldBy;
          const who = holder === null ? 'someone else' : holder.run_id ? `run ${holder.run_id} (pid ${holder.pid})` : `pid ${holder.pid} on ${holder.node}`;
          process.stderr.write(`nightshift: lock ${name} is held by ${who}${holder?.expires_at ? ` until ${holder.expires_at} unless renewed` : ''}; nothing was run\n`);
          process.exitCode = EXIT_LOCK_HELD;
          return;
        }
        if (flags.json) printJson(outcome.lock.record);
        process.exitCode = await runHolding(name, outcome.lock, argv, ttlMs);
      } finally {
        await backend.close();
      }
    });
}

/** Runs CMD, renewing the lock while it runs; releases it when CMD ends and resolves with the exit code to use. */
async function runHolding(name: string, held: HeldLock, argv: string[], ttlMs: number): Promise<number> {
  const [program, ...args] = argv as [string, ...string[]];
  const child = spawn(program, args, { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, forward);
  let lost = false;
  let warned = false;
  const renewing = setInterval(() => {
    void held.renew(ttlMs).then((result) => {
      if (result === 'lost' && !lost) {
        lost = true;
        process.stderr.write(`nightshift: lock ${name} lapsed and was taken over (this process did not renew it within ${ttlMs} ms); stopping the command\n`);
        child.kill('SIGTERM');
      } else if (result === 'unreachable' && !warned) {
        warned = true;
        process.stderr.write(`nightshift: could not renew lock ${name} (no answer); still trying — it lapses if that lasts past its ttl\n`);
      }
    });
  }, Math.max(200, Math.floor(ttlMs / COORDINATION.lock.renewals_per_ttl)));
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
      child.once('error', resolve);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (exit instanceof Error) {
      process.stderr.write(`nightshift: cannot run ${program}: ${(exit as NodeJS.ErrnoException).code ?? exit.message}; check the command and PATH\n`);
      return EXIT_CANNOT_START;
    }
    if (lost) return EXIT_LOCK_HELD;
    if (exit.code !== null) return exit.code;
    return 128 + (exit.signal ? (osConstants.signals[exit.signal] ?? 15) : 15);
  } finally {
    clearInterval(renewing);
    for (const signal of signals) process.off(signal, forward);
    await held.release().catch(() => false); // a lapsed one is gone already; the ttl frees an unreachable one
  }
}
