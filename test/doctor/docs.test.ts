/**
 * docs/doctor.md is the contract for finding ids and fixtures: every id a check can emit is documented, every command
 * names its fixture file, and the README and docs/cli.md show the command.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HOST_COMMANDS } from '../../src/doctor/commands.ts';

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

async function emittedIds(): Promise<string[]> {
  const ids = new Set<string>();
  const dir = new URL('../../src/doctor/checks/', import.meta.url);
  for (const name of await readdir(dir)) for (const match of (await readFile(new URL(name, dir), 'utf8')).matchAll(/id: '([a-z_.]+)'/g)) ids.add(match[1]!);
  for (const match of (await read('src/doctor/index.ts')).matchAll(/id: '([a-z_.]+)'/g)) ids.add(match[1]!);
  return [...ids].sort();
}

describe('docs/doctor.md', () => {
  it('has a row for every finding id the checks emit, and every id DESIGN.md names is emitted', async () => {
    const doc = await read('docs/doctor.md');
    const ids = await emittedIds();
    for (const id of ids) expect(doc, id).toContain(`| \`${id}\` |`);
    for (const id of ['swap.none', 'memory.low', 'cpu.overloaded', 'disk.low', 'disk.inodes', 'logs.large', 'logrotate.missing', 'firewall.ufw_docker', 'perms.project_dir', 'perms.env_file', 'cron.no_lock', 'systemd.crash_loop', 'systemd.failed', 'path.unresolved', 'time.unsynced', 'process.duplicate']) {
      expect(ids).toContain(id);
    }
  });

  it('names the fixture file and the exact command for each command doctor runs', async () => {
    const doc = await read('docs/doctor.md');
    for (const command of Object.values(HOST_COMMANDS)) {
      expect(doc).toContain(`\`${command.fixture}\``);
      const shown = command.argv.map((arg) => (/[*{}\t ]/.test(arg) ? `'${arg.replace('\t', '\\t')}'` : arg)).join(' ');
      expect(doc).toContain(`\`${shown}\``);
    }
  });

  it('the README shows doctor in the first steps, and docs/cli.md lists it', async () => {
    expect(await read('README.md')).toContain('nightshift doctor');
    expect(await read('docs/cli.md')).toContain('nightshift doctor [--json]');
  });
});
