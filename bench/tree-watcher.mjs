/**
 * Helper process of bench/tree-kill.mjs (not a benchmark): watches the hung trees from OUTSIDE the process that kills
 * them. In the benchmark's own process the observations would be distorted by the very load under test — 100 runs
 * scanning /proc delay its timers by seconds and can exhaust its file descriptors (then a failed read of
 * /proc/PID/stat would look like "dead").
 *
 * stdin, JSON lines:  { type: 'tree', id, dir, deadline, checkAt }   times are epoch ms (timeOrigin + now)
 *                     { type: 'ended', id }                           runProcess() resolved for this tree
 *                     { type: 'done' }                                no more trees
 * stdout, one JSON line when every tree is settled: { id: { pids, deadAt, atCheck, checkLate, atEnd } … }
 *   pids       pidfile processes found (parent, ingroup, setsid), read while alive
 *   deadAt     first poll at which all of them were gone (zombies count as gone), epoch ms; null if never
 *   atCheck    how many were alive at `checkAt`; atEnd: how many when 'ended' arrived
 *   checkLate  how late (ms) the check at `checkAt` actually ran (this process's timer on a loaded machine): the
 *              benchmark also counts, from deadAt, the trees not all dead by `checkAt` exactly
 *
 * Usage (by tree-kill.mjs): node bench/tree-watcher.mjs POLL_MS
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const POLL_MS = Number(process.argv[2] ?? 10);
const NAMES = ['parent', 'ingroup', 'setsid'];
const now = () => performance.timeOrigin + performance.now();
const trees = new Map();
let done = false;

/** 'alive' | 'dead' | 'unknown' (an unexpected read error is not taken for death). */
function state(pid, startTime) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return error.code === 'ENOENT' || error.code === 'ESRCH' ? 'dead' : 'unknown';
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X' || fields[0] === 'x') return 'dead';
  return startTime === null || Number(fields[19]) === startTime ? 'alive' : 'dead';
}

const aliveCount = (tree) => tree.pids.filter((p) => state(p.pid, p.startTime) !== 'dead').length;

/** Reads the pidfiles not read yet, with each process's start time (so a reused pid is not mistaken for it). */
function readPids(tree) {
  for (const name of NAMES) {
    if (tree.pids.some((p) => p.name === name)) continue;
    try {
      const pid = Number(readFileSync(join(tree.dir, `${name}.pid`), 'utf8').trim());
      if (!(pid > 0)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      tree.pids.push({ name, pid, startTime: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) });
    } catch {
      // not written yet, or already gone (then it needs no killing)
    }
  }
}

function settled(tree) {
  return tree.atCheck !== null && tree.atEnd !== null && (tree.deadAt !== null || now() > tree.checkAt + 15_000);
}

function finishIfDone() {
  if (!done || ![...trees.values()].every(settled)) return;
  clearInterval(poller);
  const out = {};
  for (const [id, t] of trees) out[id] = { pids: t.pids.length, deadAt: t.deadAt, atCheck: t.atCheck, checkLate: t.checkLate, atEnd: t.atEnd };
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}

const poller = setInterval(() => {
  const t = now();
  for (const tree of trees.values()) {
    if (tree.deadAt !== null) continue;
    if (t < tree.deadline) {
      if (tree.pids.length < NAMES.length) readPids(tree);
      continue;
    }
    if (!tree.pidsFinal) {
      readPids(tree); // last chance for a late pidfile
      tree.pidsFinal = true;
    }
    if (aliveCount(tree) === 0) tree.deadAt = t;
  }
  finishIfDone();
}, POLL_MS);

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.type === 'tree') {
    const tree = { ...msg, pids: [], pidsFinal: false, deadAt: null, atCheck: null, checkLate: null, atEnd: null };
    trees.set(msg.id, tree);
    setTimeout(() => {
      tree.checkLate = now() - msg.checkAt;
      tree.atCheck = aliveCount(tree);
      finishIfDone();
    }, Math.max(0, msg.checkAt - now()));
  } else if (msg.type === 'ended') {
    const tree = trees.get(msg.id);
    tree.atEnd = aliveCount(tree);
  } else if (msg.type === 'done') {
    done = true;
  }
});
