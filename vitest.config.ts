import { defineConfig } from 'vitest/config';

// .ci/run sets HIBIKI_TEST_REPORT to read the counts from a JSON report; `npm test` stays the same command.
const report = process.env.HIBIKI_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites share one Redis and one PostgreSQL but isolate themselves by queue prefix
    // and schema; two forks match the machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    reporters: report ? ['default', 'json'] : ['default'],
    ...(report ? { outputFile: { json: report } } : {}),
  },
});
