import type { Command } from 'commander';
import { loadConfigIsolated } from '../../config/load-isolated.ts';
import { configFlag, loadCliConfig } from '../context.ts';
import { CliError, EXIT_FAILED } from '../errors.ts';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the daemon in the foreground (SIGTERM stops it gracefully, SIGHUP reloads the config)')
    .action(async (_options: unknown, command: Command) => {
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
      let daemon: import('../../daemon/daemon.ts').Daemon;
      const boot = deferSignals();
      try {
        daemon = await Daemon.start({
          config,
          logger,
          reloadConfig: async () => loadConfigIsolated({ explicit, env: process.env, cwd: process.cwd() }),
        });
      } catch (error) {
        boot.release();
        throw new CliError(`nightshift could not start: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILED);
      }
      process.stderr.write(`nightshift is running ${Object.keys(config.jobs).length} jobs; API on ${daemon.url()} (Ctrl-C stops)\n`);
      await handleSignals(daemon, logger, boot.release());
    });
}
