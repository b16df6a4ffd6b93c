import { spawn } from 'node:child_process';

/** Pipes `input` into `promtool check metrics`. Fails (never skips) when promtool is missing: CI installs it. */
export function promtoolCheck(input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error('promtool is not on PATH: run scripts/install-system-deps.sh (it installs Debian\'s prometheus package; CI runs it)')
          : error,
      );
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {}); // an early exit is reported through 'close' with its output
    child.stdin.end(input);
  });
}
