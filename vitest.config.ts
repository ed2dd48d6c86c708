import { configDefaults, defineConfig } from 'vitest/config';

// .ci/run sets HIBIKI_TEST_REPORT to read the counts from a JSON report; `npm test` stays the same command.
const report = process.env.HIBIKI_TEST_REPORT;

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites share one Redis and one PostgreSQL but isolate themselves by queue prefix
    // and schema; two forks match the machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    reporters: report ? ['default', 'json'] : ['default'],
    ...(report ? { outputFile: { json: report } } : {}),
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/log-scan/**'],
          // Empties test-artifacts/logs/ before the suite writes this run's logs there.
          globalSetup: ['test/log-scan/global-setup.ts'],
        },
      },
      {
        // Reads every log line the suite wrote, so it runs after the suite has finished:
        // vitest runs the projects of a higher groupOrder once the lower ones are done.
        extends: true,
        test: {
          name: 'log-scan',
          include: ['test/log-scan/**/*.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
