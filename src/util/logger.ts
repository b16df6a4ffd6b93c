import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * The daemon's one logger: JSON lines on stdout, which journald keeps under systemd. `NIGHTSHIFT_LOG_LEVEL` sets the
 * level (default info).
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'nightshift',
    level: options.level ?? process.env.NIGHTSHIFT_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that drops everything, for tests and for CLI commands that must keep stdout clean. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
