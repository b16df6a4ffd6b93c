/**
 * `nightshift init [DIR]`: a commented nightshift.yaml with a first scheduled job, a triggered one and a service (it
 * validates as written), the state directory with mode 0700, and that directory in .gitignore. It never overwrites:
 * an existing config is a usage error that names the file and changes nothing.
 */
import type { Command } from 'commander';
import { appendFile, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CONFIG_FILE_NAMES } from '../../config/index.ts';
import { DEFAULTS } from '../../config/defaults.ts';
import { usageError } from '../errors.ts';

const TEMPLATE = `# nightshift.yaml — what nightshift runs and how it watches it.
# Reference: docs/config.md. Check this file with \`nightshift validate\`, run it with \`nightshift up\`;
# \`nightshift install systemd\` writes a unit that keeps it running (docs/install.md).

project: my-pipeline          # names the state and appears in alerts
state_dir: .nightshift        # runs, logs and the API token live here (mode 0700, in .gitignore)

jobs:
  # A scheduled job: cron with 5 fields (or 6, seconds first).
  hello:
    command: echo "hello from nightshift at $(date)"
    schedule: "*/5 * * * *"
    timeout: 10m              # then SIGTERM to the whole process tree, SIGKILL after kill_grace
    retries: 2                # up to 2 more attempts, with exponential backoff
    overlap: skip             # a start while the last run still runs is recorded as skipped

  # A triggered job: runs only when asked (nightshift run report --wait).
  report:
    command: [sh, -c, "echo report done"]
    timeout: 1m

  # A service: kept running; restarts back off from 1s to 5m while it keeps exiting quickly.
  worker:
    command: [sh, -c, "while true; do echo working; sleep 60; done"]
    restart: always
    min_uptime: 30s
`;

export function registerInit(program: Command): void {
  program
    .command('init')
    .argument('[dir]', 'where to create nightshift.yaml', '.')
    .description('create a commented nightshift.yaml and a private state directory; never overwrites')
    .action(async (dir: string) => {
      const root = resolve(dir);
      const configPath = join(root, CONFIG_FILE_NAMES[0]);
      const stateName = DEFAULTS.state_dir;
      const stateDir = join(root, stateName);
      if ((await stat(root).catch(() => null))?.isDirectory() === false) {
        throw usageError(`${root} is not a directory; give init a directory to create nightshift.yaml in`);
      }
      // nightshift.yml would be shadowed by a new nightshift.yaml (the lookup prefers .yaml): refuse that too.
      for (const name of CONFIG_FILE_NAMES) {
        const existing = join(root, name);
        if (await stat(existing).catch(() => null)) throw alreadyThere(existing);
      }
      await mkdir(root, { recursive: true });
      try {
        await writeFile(configPath, TEMPLATE, { flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyThere(configPath);
        throw error;
      }
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      // mkdir leaves an existing directory's mode alone, and a umask could have narrowed a new one's: say it once.
      await chmod(stateDir, 0o700);
      await ensureGitignored(join(root, '.gitignore'), stateName);
      process.stdout.write(`created ${configPath} and ${stateDir}/ (mode 0700)\nnext: nightshift validate && nightshift up\n`);
    });
}

function alreadyThere(path: string): Error {
  return usageError(`${path} already exists; nothing was changed (edit it, or remove it to start over)`);
}

/** Appends `<name>/` unless a line already ignores the directory (`name`, `name/`, `/name`, `/name/`). */
async function ensureGitignored(path: string, name: string): Promise<void> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const forms = new Set([name, `${name}/`, `/${name}`, `/${name}/`]);
  if (existing.split(/\r?\n/).some((line) => forms.has(line.trim()))) return;
  await appendFile(path, `${existing && !existing.endsWith('\n') ? '\n' : ''}${name}/\n`);
}
