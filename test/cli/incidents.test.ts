/**
 * `nightshift incidents [--all] [--json] [--limit N]`: a real daemon (`nightshift up`) watches a check that
 * `nightshift ping` feeds; when the pings stop the check goes down and an incident opens, a success resolves it, and
 * after the daemon stops the CLI reads the same incidents from the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/store/types.ts';
import { ISO_UTC, cleanupAll, makeProject, parseJson, startDaemon, waitFor, type Project } from './helpers.ts';

afterEach(cleanupAll);

/** Tests that start a daemon and wait on a check's clock get more than the default 30 s on a loaded 2-core machine. */
const DAEMON_TEST_TIMEOUT_MS = 90_000;

/** The Incident shape (DESIGN.md "JSON shapes"). */
const INCIDENT_KEYS = ['id', 'kind', 'subject', 'state', 'opened_at', 'resolved_at', 'summary', 'detail'];

const BACKUP_CHECK = `
alerts: { flap_window: 0s }
checks:
  backup: { every: 1s, grace: 1s }
`;

async function incidents(p: Project, args: string[] = []): Promise<Incident[]> {
  const result = await p.cli(['incidents', '--json', ...args]);
  if (result.code !== 0) throw new Error(`incidents ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return parseJson<Incident[]>(result);
}

function newestFirst(list: Incident[]): boolean {
  return list.every((incident, i) => i === 0 || Date.parse(list[i - 1]!.opened_at) >= Date.parse(incident.opened_at));
}

describe('nightshift incidents', () => {
  it('a check that stops pinging opens an incident; a success resolves it; the store keeps them after the daemon stops', async () => {
    const p = await makeProject(BACKUP_CHECK);
    const daemon = await startDaemon(p);
    expect(await p.cli(['incidents'])).toEqual({ code: 0, stdout: 'no open incidents\n', stderr: '' });
    expect(await p.cli(['incidents', '--json'])).toEqual({ code: 0, stdout: '[]\n', stderr: '' });

    // One success: the check is up, expected again within 1s, down 1s after that.
    expect(await p.cli(['ping', 'backup'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const [opened, ...others] = await waitFor(async () => {
      const open = await incidents(p);
      return open.length > 0 ? open : null;
    }, 20_000, 'the check to go down and open an incident');
    expect(others).toEqual([]);
    expect(Object.keys(opened!)).toEqual(expect.arrayContaining(INCIDENT_KEYS));
    expect(opened).toMatchObject({ kind: 'check_down', subject: 'backup', state: 'open', resolved_at: null });
    expect(opened!.opened_at).toMatch(ISO_UTC);
    expect(opened!.summary).toContain('backup');
    expect(typeof opened!.detail.fix).toBe('string');
    // --json is exactly the API's array (the check stays down, so nothing changes in between).
    const fromApi = (await (await fetch(`${daemon.url}/api/v1/incidents`)).json()) as Incident[];
    expect(await incidents(p)).toEqual(fromApi);

    // A success resolves it. The check goes down again 2s later, opening a new one (flap_window 0s), so only this
    // incident's fate is asserted.
    expect(await p.cli(['ping', 'backup'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const all = await waitFor(async () => {
      const list = await incidents(p, ['--all']);
      return list.find((i) => i.id === opened!.id)?.state === 'resolved' ? list : null;
    }, 10_000, 'the incident to be resolved');
    const resolved = all.find((i) => i.id === opened!.id)!;
    expect(resolved).toMatchObject({ kind: 'check_down', subject: 'backup', state: 'resolved', opened_at: opened!.opened_at });
    expect(resolved.resolved_at).toMatch(ISO_UTC);
    expect(newestFirst(all)).toBe(true);
    expect((await incidents(p)).map((i) => i.id)).not.toContain(opened!.id);
    expect(await incidents(p, ['--all', '--limit', '1'])).toHaveLength(1);

    // Without the daemon the store answers, with the same records.
    await daemon.stop();
    const stored = await incidents(p, ['--all']);
    expect(stored).toContainEqual(resolved);
    expect(newestFirst(stored)).toBe(true);
    expect((await incidents(p)).every((i) => i.state === 'open')).toBe(true);

    const table = await p.cli(['incidents', '--all']);
    expect(table.code).toBe(0);
    expect(table.stderr).toBe('');
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STATE +KIND +SUBJECT +OPENED +SUMMARY$/);
    expect(lines).toHaveLength(stored.length + 1);
    const escaped = resolved.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^resolved +check_down +backup +\\S+ ago +${escaped}$`)));
    expect(table.stdout).not.toContain('\u001b[');
  }, DAEMON_TEST_TIMEOUT_MS);

  it('without a daemon or any incident: a line, or [] with --json; a bad --limit is exit 2', async () => {
    const p = await makeProject(BACKUP_CHECK);
    expect(await p.cli(['incidents'])).toEqual({ code: 0, stdout: 'no open incidents\n', stderr: '' });
    expect(await p.cli(['incidents', '--all'])).toEqual({ code: 0, stdout: 'no incidents recorded\n', stderr: '' });
    expect(await p.cli(['incidents', '--all', '--json'])).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    expect(await p.cli(['incidents', '--limit', '0'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "nightshift: --limit must be a whole number from 1 to 10000; got '0'\n",
    });
  });
});
