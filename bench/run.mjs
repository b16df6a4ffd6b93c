/**
 * Runs every benchmark in turn (each is also runnable alone) and prints their verdicts together.
 * `--quick` passes through for a fast smoke pass (about 3 minutes); other flags go to every benchmark, so use them
 * only with `--only NAME`. ping-throughput needs wrk and crash-loop-vs-pm2 needs PM2 (scripts/install-bench-deps.sh).
 *
 * Usage: node bench/run.mjs [--quick]
 *          [--only schedule-jitter|idle|status-time|tree-kill|ping-throughput|check-down-latency|crash-loop-vs-pm2|
 *                  duplicate-scan|dashboard-overview|task-throughput|task-latency]
 *          (npm run bench -- --quick)
 */
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  'schedule-jitter', 'idle', 'status-time', 'tree-kill', 'ping-throughput', 'check-down-latency', 'crash-loop-vs-pm2',
  'duplicate-scan', 'dashboard-overview', 'task-throughput', 'task-latency',
];
const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt === -1 ? null : argv[onlyAt + 1];
const passOn = onlyAt === -1 ? argv : argv.filter((_, i) => i !== onlyAt && i !== onlyAt + 1);
if (only !== null && !BENCHES.includes(only)) {
  process.stderr.write(`unknown benchmark ${only}; one of ${BENCHES.join(', ')}\n`);
  process.exit(2);
}

/** Runs one benchmark, echoing its output; resolves with its JSON result line (or null) and exit code. */
function runOne(name) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, `${name}.mjs`), ...passOn], { stdio: ['ignore', 'pipe', 'inherit'] });
    let result = null;
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) if (line.startsWith('{"bench":')) result = JSON.parse(line);
    });
    child.once('close', (code) => resolve({ name, code, result }));
  });
}

const outcomes = [];
for (const name of only ? [only] : BENCHES) {
  process.stdout.write(`\n=== ${name} ===\n`);
  outcomes.push(await runOne(name));
}
process.stdout.write('\n=== summary ===\n');
for (const { name, code, result } of outcomes) {
  const verdict = code !== 0 || !result ? `FAILED TO RUN (exit ${code})` : result.goal_met ? 'goal met' : 'goal NOT met';
  process.stdout.write(`${name.padEnd(20)} ${verdict}\n`);
}
process.exitCode = outcomes.some((o) => o.code !== 0 || !o.result) ? 1 : 0;
