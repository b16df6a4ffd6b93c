import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // One PostgreSQL for the run (NIGHTSHIFT_TEST_DATABASE_URL, else a throwaway cluster): see the file.
    globalSetup: ['./test/setup/postgres-global.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests spawn real processes and SQLite files; two workers match the 2-core machines.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
