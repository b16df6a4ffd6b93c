import type { Logger } from '../util/logger.ts';

export interface Stoppable {
  stop(): Promise<void>;
  hurry(): void;
  reload(): Promise<boolean>;
}

export interface DeferredSignals {
  /** Stops deferring; returns the stop signal that arrived meanwhile, or null. */
  release(): NodeJS.Signals | null;
}

/**
 * Holds stop signals while the daemon boots. Without this, a SIGTERM between opening the store and arming the handlers
 * (systemd stopping a unit that is still starting, a deploy script restarting it) took Node's default action and killed
 * the daemon mid-recovery, leaving just-started runs orphaned. Deferred, it stops the daemon gracefully once started.
 */
export function deferSignals(): DeferredSignals {
  let received: NodeJS.Signals | null = null;
  const record = (signal: NodeJS.Signals) => {
    received ??= signal;
  };
  // SIGHUP during boot needs nothing: the daemon is reading the config file anew anyway.
  const ignoreHup = () => {};
  process.on('SIGTERM', record);
  process.on('SIGINT', record);
  process.on('SIGHUP', ignoreHup);
  return {
    release() {
      process.off('SIGTERM', record);
      process.off('SIGINT', record);
      process.off('SIGHUP', ignoreHup);
      return received;
    },
  };
}

/**
 * Wires the process signals to the daemon, as systemd expects: SIGTERM or SIGINT stops gracefully (runs get
 * `shutdown_grace` to finish); a second one kills the runs at once; SIGHUP reloads the config. Resolves once stopped.
 * `pending` is a stop signal that arrived during boot (deferSignals): the daemon stops at once, gracefully.
 */
export function handleSignals(daemon: Stoppable, logger: Logger, pending: NodeJS.Signals | null = null): Promise<void> {
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
    if (pending !== null) onStop(pending);
  });
}
