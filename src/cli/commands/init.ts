import type { Command } from 'commander';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError, EXIT_FAILED } from '../errors.ts';

const TEMPLATE = `# nightshift.yaml — what nightshift runs and how it watches it.
# Reference: docs/config.md. Check this file with \`nightshift validate\`, run it with \`nightshift up\`.

project: my-pipeline          # names the state and appears in alerts
state_dir: .nightshift        # runs, logs and the API token live here (mode 0700)

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
      const configPath = join(root, 'nightshift.yaml');
      await mkdir(root, { recursive: true });
      try {
        await writeFile(configPath, TEMPLATE, { flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CliError(`${configPath} already exists; nothing was changed (edit it, or remove it to start over)`, EXIT_FAILED);
        }
        throw error;
      }
      await mkdir(join(root, '.nightshift'), { recursive: true, mode: 0o700 });
      await ensureGitignored(join(root, '.gitignore'), '.nightshift/');
      process.stdout.write(`created ${configPath} and ${join(root, '.nightshift')}/ (mode 0700)\nnext: nightshift validate && nightshift up\n`);
    });
}

async function ensureGitignored(path: string, line: string): Promise<void> {
  const existing = await readFile(path, 'utf8').catch(() => '');
  if (existing.split('\n').some((l) => l.trim() === line)) return;
  await appendFile(path, `${existing && !existing.endsWith('\n') ? '\n' : ''}${line}\n`);
}
