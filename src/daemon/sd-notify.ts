/**
 * The daemon's side of systemd's notify protocol (sd_notify(3)), active only when systemd set NOTIFY_SOCKET:
 * READY=1 once the daemon has started (store open, API listening, scheduler armed), WATCHDOG=1 while its loops are
 * healthy (watchdog.ts), STOPPING=1 when it begins to stop, and STATUS= lines for `systemctl status`.
 *
 * The variables are removed from process.env as sd_notify's `unset_environment` does: runs inherit the daemon's
 * environment, and a job that pinged the daemon's watchdog (any program that speaks sd_notify) would keep a hung
 * daemon alive, or a job's READY=1 would be taken for the daemon's.
 */
import type { Logger } from '../util/logger.ts';
import { openNotifySender, type NotifySender } from './notify-socket.ts';
import { Watchdog, type LoopHealth } from './watchdog.ts';

export interface SystemdEnv {
  socketPath: string;
  /** Half of it is the ping interval; null when systemd set no watchdog for this process. */
  watchdogUsec: number | null;
}

/** What systemd told this process, or null when it is not run under a notify-aware service manager. */
export function readSystemdEnv(env: NodeJS.ProcessEnv, pid = process.pid): SystemdEnv | null {
  const socketPath = env['NOTIFY_SOCKET'];
  if (!socketPath) return null;
  const usec = Number(env['WATCHDOG_USEC']);
  // WATCHDOG_PID names the process the watchdog is for; another pid's watchdog is not ours to feed (sd_watchdog_enabled).
  const forUs = env['WATCHDOG_PID'] === undefined || Number(env['WATCHDOG_PID']) === pid;
  return { socketPath, watchdogUsec: Number.isSafeInteger(usec) && usec > 0 && forUs ? usec : null };
}

export interface SystemdNotify {
  /** The daemon has started: READY=1 and the watchdog's first ping. */
  ready(status: string): void;
  status(status: string): void;
  /** STOPPING=1; the watchdog stops (systemd does not watch a stopping service). */
  stopping(): void;
  close(): void;
}

export interface SystemdNotifyOptions {
  logger: Logger;
  health: LoopHealth;
  env?: NodeJS.ProcessEnv;
}

/** Null without NOTIFY_SOCKET. Removes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env` (process.env). */
export function startSystemdNotify(options: SystemdNotifyOptions): SystemdNotify | null {
  const env = options.env ?? process.env;
  const systemd = readSystemdEnv(env);
  delete env['NOTIFY_SOCKET'];
  delete env['WATCHDOG_USEC'];
  delete env['WATCHDOG_PID'];
  if (!systemd) return null;
  const { logger } = options;
  const sender: NotifySender = openNotifySender(systemd.socketPath);
  let failing = false;
  const send = (message: string): void => {
    sender.send(message).then(
      () => (failing = false),
      (error: unknown) => {
        // Once per spell: a watchdog ping every few seconds must not flood the journal.
        if (!failing) logger.error({ err: error, socket: systemd.socketPath }, `could not notify systemd (${message.split('\n')[0]})`);
        failing = true;
      },
    );
  };
  const watchdog =
    systemd.watchdogUsec === null
      ? null
      : new Watchdog({
          intervalMs: Math.max(1, Math.floor(systemd.watchdogUsec / 2_000)),
          health: options.health,
          ping: () => send('WATCHDOG=1'),
          onTrouble: (why) => logger.error(`not pinging systemd's watchdog: ${why}; systemd will restart the daemon if this lasts`),
        });
  logger.info(
    { socket: systemd.socketPath, via: sender.kind, watchdog_ms: systemd.watchdogUsec === null ? null : systemd.watchdogUsec / 1000 },
    'systemd notify socket found',
  );
  let stopped = false;
  return {
    ready(status) {
      send(`READY=1\nSTATUS=${status}`);
      watchdog?.start();
    },
    status(status) {
      if (!stopped) send(`STATUS=${status}`);
    },
    stopping() {
      if (stopped) return;
      stopped = true;
      watchdog?.stop();
      send('STOPPING=1\nSTATUS=stopping');
    },
    close() {
      watchdog?.stop();
      // Let a STOPPING=1 still in flight (systemd-notify is a child process) go out first.
      setImmediate(() => sender.close());
    },
  };
}
