import type { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import { loadConfigIsolated } from '../../config/load-isolated.ts';
import { configFlag, loadCliConfig } from '../context.ts';
import { CliError, EXIT_FAILED } from '../errors.ts';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the daemon in the foreground (SIGTERM stops it gracefully, SIGHUP reloads the config)')
    .action(async (_options: unknown, command: Command) => {
      // V8's optimizing compiler (TurboFan) is off while the daemon loads its modules and starts, and on again once it
      // has started (or failed to). Loading is the one burst of hot code an idle daemon has run (Node's module loader
      // and its CommonJS lexer); TurboFan compiled it on a helper thread whose malloc arena then kept ~4.4 MB resident
      // for as long as the daemon ran (docs/benchmarks.md, section 2). A flag set at run time stays in this process:
      // it is not in process.execArgv or the environment, so neither the config loader's child nor any run inherits it.
      setFlagsFromString('--no-turbofan');
      let started: Awaited<ReturnType<typeof start>>;
      try {
        started = await start(command);
      } finally {
        setFlagsFromString('--turbofan');
      }
      const { daemon, logger, boot, jobs } = started;
      process.stderr.write(`nightshift is running ${jobs} jobs; API on ${daemon.url()} (Ctrl-C stops)\n`);
      await started.handleSignals(daemon, logger, boot.release());
    });
}

async function start(command: Command) {
  // In a worker, at start and on reload: the daemon's heap then never holds zod, yaml and the schema.
  const config = await loadCliConfig(command, { isolated: true });
  // Loaded here, not at the top: every other command would otherwise pay for the daemon's modules at start.
  const [{ Daemon }, { handleSignals, deferSignals }, { createLogger }] = await Promise.all([
    import('../../daemon/daemon.ts'),
    import('../../daemon/signals.ts'),
    import('../../util/logger.ts'),
  ]);
  const explicit = configFlag(command);
  const logger = createLogger();
  const boot = deferSignals();
  try {
    const daemon = await Daemon.start({
      config,
      logger,
      reloadConfig: async () => loadConfigIsolated({ explicit, env: process.env, cwd: process.cwd() }),
    });
    return { daemon, logger, boot, handleSignals, jobs: Object.keys(config.jobs).length };
  } catch (error) {
    boot.release();
    throw new CliError(`nightshift could not start: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILED);
  }
}
