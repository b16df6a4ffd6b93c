import type { Command } from 'commander';
import { ConfigErrors, defaultConfig, defaultJob, findConfigPath, loadConfig, parseDuration } from '../../config/index.ts';
import type { JobConfig, ResolvedConfig } from '../../config/types.ts';
import { configFlag } from '../context.ts';
import { configError, usageError } from '../errors.ts';

interface ExecFlags {
  job: string;
  timeout?: string;
  lock?: boolean;
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run one command as a recorded run of JOB, with a deadline and (with --lock) the job lock; no daemon needed')
    .requiredOption('--job <name>', 'record the run under this job (its config settings apply when it is configured)')
    .option('--timeout <duration>', 'kill the whole process tree after this long (e.g. 10m); overrides the job timeout')
    .option('--lock', "take the job's lock: when it is held, record a skipped run and exit 0")
    .argument('<command...>', 'the command and its arguments, after --')
    .action(async (argv: string[], flags: ExecFlags, command: Command) => {
      const config = loadOptionalConfig(configFlag(command)) ?? defaultConfig(process.cwd(), process.env);
      const job = jobFor(config, flags, argv);
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, onSignal);
      const { execRun } = await import('../../exec/exec-run.ts'); // only exec needs the runner
      const outcome = await execRun({
        job,
        config,
        lock: flags.lock ?? false,
        signal: stop.signal,
        echo: { out: process.stdout, err: process.stderr },
      });
      if (outcome.notice) process.stderr.write(`nightshift: ${outcome.notice}\n`);
      process.exitCode = outcome.exitCode;
    });
}

/**
 * exec works without a config file; with one (found in the working directory, or named by -c or NIGHTSHIFT_CONFIG)
 * it uses its state and the job's settings. A named file that is missing is an error, as for every command: running
 * on the defaults instead would record into another state and take another lock than the daemon's.
 */
function loadOptionalConfig(explicit: string | undefined): ResolvedConfig | null {
  const named = explicit !== undefined || Boolean(process.env.NIGHTSHIFT_CONFIG);
  if (!named) {
    try {
      findConfigPath({ env: process.env, cwd: process.cwd() });
    } catch {
      return null;
    }
  }
  try {
    return loadConfig({ explicit, env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigErrors) throw configError(error.message);
    throw error;
  }
}

function jobFor(config: ResolvedConfig, flags: ExecFlags, argv: string[]): JobConfig {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(flags.job)) {
    throw usageError(`--job '${flags.job}' is not a valid job name: use letters, digits, '.', '_' and '-'`);
  }
  const [program, ...args] = argv;
  if (program === undefined) throw usageError('nothing to run: put the command after --, e.g. nightshift exec --job scan -- ./scan.sh');
  const configured = config.jobs[flags.job];
  const base = configured ?? defaultJob(flags.job, process.cwd());
  let timeoutMs = base.timeoutMs;
  if (flags.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(flags.timeout);
    } catch {
      throw usageError(`--timeout '${flags.timeout}' is not a duration: write it like 500ms, 30s, 10m, 2h or 1d`);
    }
    if (timeoutMs <= 0) throw usageError(`--timeout must be longer than 0 (got '${flags.timeout}'); leave it out for no deadline`);
  }
  // The command given here is what runs; the job's cwd, env, user, deadline and log settings apply to it.
  return { ...base, command: { kind: 'argv', argv: [program, ...args] }, timeoutMs };
}
