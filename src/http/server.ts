import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

/** Thrown when the daemon cannot listen; the message says which address and what to do. */
export class ListenError extends Error {
  override name = 'ListenError';
}

export interface RunningServer {
  /** The address actually bound (port 0 in tests becomes a real port). */
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `app` on host:port, resolving once it listens and rejecting with a ListenError when it cannot. */
export function listen(app: Hono, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (error: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE') {
        reject(new ListenError(`${where} is already in use (another nightshift daemon? try \`nightshift status\`); set http.listen to a free port`));
      } else if (error.code === 'EACCES') {
        reject(new ListenError(`not allowed to listen on ${where} (ports below 1024 need root); set http.listen to a port above 1024`));
      } else if (error.code === 'EADDRNOTAVAIL') {
        reject(new ListenError(`${host} is not an address of this machine; set http.listen to 127.0.0.1:${port}`));
      } else {
        reject(new ListenError(`cannot listen on ${where}: ${error.message}`));
      }
    };
    server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      server.off('error', onError);
      resolve({
        host: info.address,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Long-polls and keep-alive connections must not hold shutdown open.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', onError);
  });
}
