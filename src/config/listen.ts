/** `http.listen`: where the daemon's HTTP API listens. */

import { UnitError } from './units.ts';

const LISTEN_FIX = 'write host:port like 127.0.0.1:8377, or [::1]:8377 for IPv6';

export function readListen(input: string): { host: string; port: number } {
  const text = input.trim();
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]*)):(\d+)$/.exec(text);
  if (match === null) {
    if (/^\d+$/.test(text)) throw new UnitError(`'${text}' has no host`, `write 127.0.0.1:${text} (or 0.0.0.0:${text} for every interface, with http.token set)`);
    if ((text.match(/:/g) ?? []).length > 1 && !text.startsWith('[')) throw new UnitError(`'${text}' is ambiguous`, LISTEN_FIX);
    throw new UnitError(`'${text}' is not host:port`, LISTEN_FIX);
  }
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (host === '') throw new UnitError(`'${text}' has no host`, `write 127.0.0.1:${port} (or 0.0.0.0:${port} for every interface, with http.token set)`);
  if (port < 1 || port > 65535) throw new UnitError(`port ${port} is out of range`, 'write a port from 1 to 65535, like 127.0.0.1:8377');
  return { host, port };
}

/** Only loopback addresses are safe without a token: anything else is reachable from outside the machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
