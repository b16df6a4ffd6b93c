import { expect, it } from 'vitest';
import { LoginLimit } from '../../src/dashboard/login-limit.ts';

it('refuses sign-ins after too many wrong tokens until the oldest leaves the one-minute window', () => {
  let now = 1_000_000;
  const limit = new LoginLimit({ now: () => now, max: 3 });
  for (let i = 0; i < 3; i++) {
    expect(limit.retryInMs()).toBe(0);
    limit.failed();
    now += 1000;
  }
  // Failures at 0 s, 1 s and 2 s; it is 3 s now: the first leaves the window at 60 s.
  expect(limit.retryInMs()).toBe(57_000);
  now += 57_000;
  expect(limit.retryInMs()).toBe(0);
  limit.failed();
  expect(limit.retryInMs()).toBe(1000);
});
