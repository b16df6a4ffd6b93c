/**
 * docs/cli.md covers the CLI that exists: every command registered under src/cli/commands/ has a section, and every
 * one of its flags is named there. Built in-process from the register functions (no process to spawn).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';

const COMMANDS_DIR = new URL('../../src/cli/commands/', import.meta.url);
const guide = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

async function registeredCommands(): Promise<Command[]> {
  const program = new Command('nightshift');
  for (const file of readdirSync(COMMANDS_DIR).filter((name) => name.endsWith('.ts'))) {
    const module = (await import(new URL(file, COMMANDS_DIR).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (name.startsWith('register') && typeof value === 'function') (value as (p: Command) => void)(program);
    }
  }
  return program.commands as Command[];
}

describe('docs/cli.md', () => {
  it('has a section for every command and names every flag', async () => {
    const commands = await registeredCommands();
    expect(commands.map((c) => c.name())).toEqual(expect.arrayContaining(['init', 'validate', 'up', 'status', 'run', 'logs', 'history', 'pause', 'resume', 'exec']));
    const headings = [...guide.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
    for (const command of commands) {
      const name = command.name();
      expect(headings.some((h) => h.split(/, */).includes(name)), `a "## ${name}" section`).toBe(true);
      for (const option of command.options) {
        const flag = option.long ?? option.short!;
        expect(guide, `${name} ${flag}`).toContain(flag);
      }
    }
    expect(guide).toContain('-c FILE');
  });
});
