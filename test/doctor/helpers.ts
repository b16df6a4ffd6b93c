/**
 * Fixture hosts for doctor (test/fixtures/hosts/<name>/): copied into a temp directory, where host.json's modes
 * (git keeps no modes but the x bit), sparse file sizes (a 30 GB log that takes no disk) and symlinks are applied. And a
 * snapshot builder for the per-check table tests: a healthy host's facts, overridden field by field.
 */
import { chmod, cp, mkdtemp, readFile, rm, symlink, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostSnapshot } from '../../src/doctor/types.ts';

export const HOSTS_DIR = fileURLToPath(new URL('../fixtures/hosts/', import.meta.url));

const made: string[] = [];

interface HostManifest {
  modes: Record<string, string>;
  sizes: Record<string, number>;
  /** Symlinks such as proc/PID/cwd, made here: committed, an absolute link would lead tools out of the tree. */
  links: Record<string, string>;
}

/** A writable copy of a fixture host with its modes and sizes applied; removed by cleanupHosts(). */
export async function prepareHost(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `nightshift-doctor-${name}-`));
  made.push(dir);
  await cp(join(HOSTS_DIR, name), dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8')) as HostManifest;
  for (const [path, size] of Object.entries(manifest.sizes)) await truncate(join(dir, path), size);
  for (const [path, target] of Object.entries(manifest.links)) await symlink(target, join(dir, path));
  for (const [path, mode] of Object.entries(manifest.modes)) await chmod(join(dir, path), Number.parseInt(mode, 8));
  return dir;
}

export async function cleanupHosts(): Promise<void> {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
}

const GIB = 1024 ** 3;

/** The facts of a healthy 2 GB, 2-CPU box, for table tests to override one field at a time. */
export function snapshot(overrides: Partial<HostSnapshot> = {}): HostSnapshot {
  return {
    root: '/fixture',
    now: new Date('2026-12-06T05:00:00Z'),
    cpuCount: 2,
    load: { one: 0.2, five: 0.2, fifteen: 0.1 },
    memory: { memTotalBytes: 2 * GIB, memAvailableBytes: 1.2 * GIB, swapTotalBytes: 2 * GIB, swapFreeBytes: 2 * GIB },
    mounts: [{ mountPoint: '/', fsType: 'ext4', sizeBytes: 25 * GIB, availBytes: 15 * GIB, inodes: 1_600_000, inodesFree: 1_400_000 }],
    logFiles: [],
    appLogs: [],
    journalBytes: 100 * 1024 ** 2,
    logrotate: { installed: true, patterns: ['/var/log/syslog'], scheduled: true },
    cron: [],
    systemdUnits: [],
    failedUnits: [],
    firewall: null,
    docker: null,
    time: { synchronized: true, ntpEnabled: true },
    oom: { killsSinceBoot: 0, lines: [] },
    processes: [],
    projectDirs: [],
    envFiles: [],
    stateDir: null,
    jobs: [],
    duplicateJobs: [],
    daemonUid: 998,
    users: new Map([[0, 'root'], [998, 'app'], [1000, 'deploy']]),
    ...overrides,
  };
}
