/**
 * Ping URLs are read as Healthchecks.io's router reads them (hc/api/urls.py): every form HC accepts resolves to the
 * same check and kind, and every form it rejects resolves to nothing.
 */
import { describe, expect, it } from 'vitest';
import { parsePingPath, parsePingQuery, type PingPath } from '../../src/http/ping-path.ts';

const U = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const byUuid = (kind: PingPath['kind'], exitStatus: number | null = null): PingPath => ({
  address: { by: 'uuid', uuid: U },
  kind,
  exitStatus,
});
const bySlug = (pingKey: string, slug: string, kind: PingPath['kind'], exitStatus: number | null = null): PingPath => ({
  address: { by: 'slug', pingKey, slug },
  kind,
  exitStatus,
});

describe('parsePingPath', () => {
  it.each<[string, PingPath]>([
    [`/${U}`, byUuid('success')],
    [`/${U}/`, byUuid('success')], // uuid_urls has path("") — the trailing slash is a success ping
    [`/${U}/start`, byUuid('start')],
    [`/${U}/fail`, byUuid('fail')],
    [`/${U}/log`, byUuid('log')],
    [`/${U}/0`, byUuid('exit', 0)],
    [`/${U}/1`, byUuid('exit', 1)],
    [`/${U}/255`, byUuid('exit', 255)],
    [`/${U}/007`, byUuid('exit', 7)], // <int:> takes leading zeros
    [`/${U}/256`, byUuid('exit', 256)], // matched; the view answers 400
    [`/fqOOd6-F4MMNuCEnzTU01w/database-backup`, bySlug('fqOOd6-F4MMNuCEnzTU01w', 'database-backup', 'success')],
    [`/key/db_backup-2/start`, bySlug('key', 'db_backup-2', 'start')],
    [`/key/db/fail`, bySlug('key', 'db', 'fail')],
    [`/key/db/log`, bySlug('key', 'db', 'log')],
    [`/key/db/0`, bySlug('key', 'db', 'exit', 0)],
    [`/key/db/42`, bySlug('key', 'db', 'exit', 42)],
    [`/key/DB`, bySlug('key', 'DB', 'success')], // Django's slug converter lets capitals through
    // Not an action after a uuid: Django falls through to the slug patterns, the uuid becomes the ping key.
    [`/${U}/abc`, bySlug(U, 'abc', 'success')],
    [`/${U}/-1`, bySlug(U, '-1', 'success')],
    [`/${U}/db/start`, bySlug(U, 'db', 'start')],
    // The ping key is the user's choice here, so it is not held to slug characters.
    [`/k.e~y/db`, bySlug('k.e~y', 'db', 'success')],
  ])('%s', (path, expected) => {
    expect(parsePingPath(path)).toEqual(expected);
  });

  it.each([
    '',
    '/',
    '/not-a-uuid',
    '/not-uuid/', // HC test_it_handles_bad_uuid
    '/07c2f54898504b27af5d6c9dc157ec02/', // HC test_it_rejects_alternative_uuid_formats
    `/${U.toUpperCase()}`,
    `/{${U}}`,
    `/${U}/start/`,
    `/${U}//`,
    `/${U}/start/extra`,
    '/key/db/', // slug_urls has no path(""): a trailing slash on a slug URL matches nothing
    '/key/db/start/',
    '/key/db/unknown',
    '/key/db/-1',
    '/key/db/1.5',
    '/key/db.bak',
    '/key/db bak',
    '/key/dé',
    '/key/%2e%2e',
    '/key/',
    '//db',
    '/key/db/start/extra',
    `${U}`, // not rooted
  ])('%j matches nothing', (path) => {
    expect(parsePingPath(path)).toBeNull();
  });
});

describe('parsePingQuery', () => {
  const rid = '123e4567-e89b-12d3-a456-426614174000';
  it.each<[string, ReturnType<typeof parsePingQuery>]>([
    ['', { rid: null, create: false }],
    [`rid=${rid}`, { rid, create: false }],
    [`rid=${rid.toUpperCase()}`, { rid, create: false }],
    ['rid=12345', { rid: 'invalid', create: false }], // HC test_it_handles_invalid_rid
    ['rid=684e2e73-017e-465f-8149-d70b7c5aaa490', { rid: 'invalid', create: false }], // ditto, 37 characters
    ['rid=', { rid: 'invalid', create: false }],
    ['rid=123e4567e89b12d3a456426614174000', { rid: 'invalid', create: false }],
    [`rid=%7B${rid}%7D`, { rid: 'invalid', create: false }],
    [`rid=junk&rid=${rid}`, { rid, create: false }], // QueryDict.get: the last one wins
    ['create=1', { rid: null, create: true }],
    ['create=0', { rid: null, create: false }],
    ['create=true', { rid: null, create: false }], // HC compares with "1" exactly
    ['create=1&create=0', { rid: null, create: false }],
    [`create=1&rid=${rid}`, { rid, create: true }], // runitor's order (url.Values.Encode sorts keys)
    ['%zz=%&rid', { rid: 'invalid', create: false }],
  ])('%j', (search, expected) => {
    expect(parsePingQuery(search)).toEqual(expected);
  });
});
