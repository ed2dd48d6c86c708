import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites share one Redis and one PostgreSQL but isolate themselves by queue prefix
    // and schema; two forks match the machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
