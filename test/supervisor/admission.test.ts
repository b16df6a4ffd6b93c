/**
 * Admission on available memory (`limits.min_available_memory`), against fixture /proc/meminfo files: below the floor
 * a run waits; above it, or with no floor, it starts; an unreadable meminfo admits and is logged once per outage.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Admission, describeRefusal, parseMemAvailable } from '../../src/supervisor/admission.ts';
import { silentLogger } from '../../src/util/logger.ts';

const MB = 1024 * 1024;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A /proc with a meminfo saying `availableMb` (the real file's layout, abridged); null: no meminfo at all. */
function procWith(availableMb: number | null, extra = ''): string {
  const root = mkdtempSync(join(tmpdir(), 'ns-admission-'));
  dirs.push(root);
  if (availableMb !== null) {
    const kb = (mb: number): string => `${String(mb * 1024).padStart(8)} kB`;
    const lines = [`MemTotal:       ${kb(2048)}`, `MemFree:        ${kb(64)}`, `MemAvailable:   ${kb(availableMb)}`, extra];
    writeFileSync(join(root, 'meminfo'), lines.join('\n'));
  }
  return root;
}

function logger() {
  const warnings: string[] = [];
  return { warnings, warn: (_fields: Record<string, unknown>, msg: string) => void warnings.push(msg) };
}

describe('Admission', () => {
  it('holds a run back while MemAvailable is below the floor, and says by how much', async () => {
    const admission = new Admission({ procRoot: procWith(150), minAvailableBytes: () => 200 * MB });
    const result = await admission.check();
    expect(result).toEqual({ ok: false, availableBytes: 150 * MB, minBytes: 200 * MB });
    if (!result.ok) expect(describeRefusal(result)).toBe('150M available, below limits.min_available_memory (200M)');
  });

  it('admits at or above the floor, and without a floor without reading anything', async () => {
    expect(await new Admission({ procRoot: procWith(200), minAvailableBytes: () => 200 * MB }).check()).toEqual({
      ok: true,
      availableBytes: 200 * MB,
      minBytes: 200 * MB,
    });
    expect(await new Admission({ procRoot: procWith(null), minAvailableBytes: () => 0 }).check()).toEqual({
      ok: true,
      availableBytes: null,
      minBytes: 0,
    });
  });

  it('reads the floor at every check, so a config reload applies at once', async () => {
    let floor = 100 * MB;
    const admission = new Admission({ procRoot: procWith(150), minAvailableBytes: () => floor });
    expect((await admission.check()).ok).toBe(true);
    floor = 300 * MB;
    expect((await admission.check()).ok).toBe(false);
  });

  it('admits when meminfo cannot be read, and logs that once until it can be read again', async () => {
    const log = logger();
    const root = procWith(null);
    const admission = new Admission({ procRoot: root, minAvailableBytes: () => 200 * MB, logger: log });
    expect(await admission.check()).toEqual({ ok: true, availableBytes: null, minBytes: 200 * MB });
    expect(await admission.check()).toEqual({ ok: true, availableBytes: null, minBytes: 200 * MB });
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/cannot read .*meminfo: ENOENT: limits.min_available_memory cannot be checked/);

    writeFileSync(join(root, 'meminfo'), 'MemTotal: 1 kB\nMemAvailable:   512000 kB\n');
    expect((await admission.check()).ok).toBe(true);
    writeFileSync(join(root, 'meminfo'), 'MemTotal: 1 kB\n'); // a kernel before 3.14 has no MemAvailable
    expect(await admission.check()).toMatchObject({ ok: true, availableBytes: null });
    expect(log.warnings).toHaveLength(2);
    expect(log.warnings[1]).toMatch(/no MemAvailable line/);
  });

  it('takes the daemon’s logger', async () => {
    const admission = new Admission({ procRoot: procWith(null), minAvailableBytes: () => MB, logger: silentLogger() });
    expect((await admission.check()).ok).toBe(true);
  });

  it('parses MemAvailable only, in kB', () => {
    expect(parseMemAvailable('MemFree: 10 kB\nMemAvailable:    2048 kB\nCached: 5 kB\n')).toBe(2048 * 1024);
    expect(parseMemAvailable('MemAvailableX: 1 kB\n')).toBeNull();
  });
});
