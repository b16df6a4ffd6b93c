/** resolveUser against a fixture etc/ tree. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UserResolveError, resolveUser } from '../../src/runner/users.ts';

let etcRoot: string;
beforeAll(() => {
  etcRoot = mkdtempSync(join(tmpdir(), 'ns-etc-'));
  writeFileSync(
    join(etcRoot, 'passwd'),
    [
      'root:x:0:0:root:/root:/bin/bash',
      '# a comment',
      'seo-scanner:x:998:997:SEO scanner:/opt/seo-scanner:/usr/sbin/nologin',
      'broken-line',
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      '+nis',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(etcRoot, { recursive: true, force: true }));

describe('resolveUser', () => {
  it('resolves a name to uid, primary gid, home and shell', () => {
    expect(resolveUser('seo-scanner', { etcRoot, isRoot: true })).toEqual({
      name: 'seo-scanner',
      uid: 998,
      gid: 997,
      home: '/opt/seo-scanner',
      shell: '/usr/sbin/nologin',
    });
  });

  it('accepts a numeric uid, from passwd when listed and as-is otherwise', () => {
    expect(resolveUser('65534', { etcRoot, isRoot: true })).toMatchObject({ name: 'nobody', uid: 65534, gid: 65534 });
    expect(resolveUser('4242', { etcRoot, isRoot: true })).toEqual({ name: '4242', uid: 4242, gid: 4242, home: '/', shell: '/bin/sh' });
  });

  it('says where it looked and how to fix an unknown user', () => {
    const err = catchError(() => resolveUser('ghost', { etcRoot, isRoot: true, job: 'scan' }));
    expect(err).toBeInstanceOf(UserResolveError);
    expect(err.code).toBe('unknown_user');
    expect(err.message).toBe(
      `user 'ghost' does not exist on this host (looked in ${join(etcRoot, 'passwd')}); ` +
        'create it with `useradd --system --create-home ghost` or remove `user:` from job scan',
    );
  });

  it('needs root to run as another user, and says so with the daemon uid and the job', () => {
    const err = catchError(() => resolveUser('seo-scanner', { etcRoot, isRoot: false, daemonUid: 1000, job: 'scan' }));
    expect(err.code).toBe('needs_root');
    expect(err.message).toBe(
      'running jobs as another user needs the daemon to run as root (it runs as uid 1000); ' +
        'start it as root or remove `user:` from job scan',
    );
  });

  it('lets a non-root daemon name its own user', () => {
    expect(resolveUser('seo-scanner', { etcRoot, isRoot: false, daemonUid: 998 }).uid).toBe(998);
  });
});

function catchError(fn: () => unknown): UserResolveError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserResolveError) return err;
    throw err;
  }
  throw new Error('expected an error');
}
