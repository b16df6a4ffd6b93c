/**
 * The reference for bench/ping-throughput.mjs: the most a ping endpoint built like nightshift's could serve — the same
 * HTTP stack (hono on @hono/node-server, one Node process, 127.0.0.1) answering every `GET /` with a plain-text "OK"
 * and doing nothing else: no routing below a mount, no path parsing, no SQLite write. The daemon's ping route is
 * compared with it, side by side in the same run.
 *
 * Usage: node bench/reference-hono-ok.mjs PORT   (prints "ready <port>" once listening)
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const [portText] = process.argv.slice(2);
if (!portText) {
  process.stderr.write('usage: node bench/reference-hono-ok.mjs PORT\n');
  process.exit(2);
}

const app = new Hono();
app.get('/', (c) => c.text('OK'));

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(portText) }, (info) => {
  process.stdout.write(`ready ${info.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
