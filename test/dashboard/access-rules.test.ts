/** The small rules behind dashboard access: what counts as loopback, and where a login may send the browser next. */
import { describe, expect, it } from 'vitest';
import { listensOnLoopbackOnly, safeNext } from '../../src/dashboard/access.ts';

describe('listensOnLoopbackOnly', () => {
  it('is true only for loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) expect(listensOnLoopbackOnly(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '127.0.0.1.example.com']) expect(listensOnLoopbackOnly(host), host).toBe(false);
  });
});

describe('safeNext', () => {
  it('keeps paths on this site and refuses anything that leaves it', () => {
    expect(safeNext('/jobs/scan?status=failed')).toBe('/jobs/scan?status=failed');
    for (const next of [undefined, '', 'https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)']) expect(safeNext(next), String(next)).toBe('/');
  });
});
