import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const REGISTER = fileURLToPath(new URL('../store/helpers/register-ts.mjs', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../fixtures/boot-signal.ts', import.meta.url));

it('a SIGTERM that arrives while the daemon boots stops it gracefully once started, instead of killing it', async () => {
  const child = spawn(process.execPath, ['--import', REGISTER, SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  expect({ code, signal, err }).toEqual({ code: 0, signal: null, err: '' });
  expect(JSON.parse(out)).toEqual(['stop']);
});
