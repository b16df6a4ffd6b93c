/**
 * The reference for bench/idle.mjs: the least a daemon like nightshift must cost while idle — a bare Node process
 * that opens the same SQLite file with better-sqlite3 (as the daemon does, WAL) and listens on HTTP on 127.0.0.1,
 * with no timers of its own. Its RSS and wakeups are the floor the daemon is compared with.
 *
 * Usage: node bench/reference-idle-server.mjs DB_PATH PORT   (prints "ready <port>" once listening)
 */
import { createServer } from 'node:http';
import Database from 'better-sqlite3';

const [dbPath, portText] = process.argv.slice(2);
if (!dbPath || !portText) {
  process.stderr.write('usage: node bench/reference-idle-server.mjs DB_PATH PORT\n');
  process.exit(2);
}
const db = new Database(dbPath, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const count = db.prepare('SELECT count(*) AS n FROM runs');
count.get(); // touch the file as a daemon's first query would

const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(req.url === '/healthz' ? { ok: true } : { runs: count.get().n }));
});
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
const stop = () => server.close(() => {
  db.close();
  process.exit(0);
});
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
