import type { Logger } from '../util/logger.ts';

export interface Stoppable {
  stop(): Promise<void>;
  hurry(): void;
  reload(): Promise<boolean>;
}

/**
 * Wires the process signals to the daemon, as systemd expects: SIGTERM or SIGINT stops gracefully (runs get
 * `shutdown_grace` to finish); a second one kills the runs at once; SIGHUP reloads the config. Resolves once stopped.
 */
export function handleSignals(daemon: Stoppable, logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second stop signal: killing running runs now');
        daemon.hurry();
        return;
      }
      stopping = true;
      logger.info({ signal }, 'stopping: letting running runs finish within shutdown_grace');
      daemon.stop().then(() => {
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
        process.off('SIGHUP', onReload);
        resolve();
      }, reject);
    };
    const onReload = () => {
      logger.info('SIGHUP: reloading the config');
      void daemon.reload();
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onReload);
  });
}
