import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/config.ts';
import { createDeps, type Deps, type DepsOverrides } from '../../src/deps.ts';
import { createLogger } from '../../src/logger.ts';
import { recordSecrets, TEST_LOG_LEVEL, testLogDestination } from '../log-scan/log-dir.ts';
import { createTestDb, type StoreKind } from './db.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from './redis.ts';

export interface TestDepsOptions {
  store?: StoreKind;
  /** Extra environment, as a deployment would set it. */
  env?: Record<string, string>;
  overrides?: DepsOverrides;
}

export interface TestDeps extends Deps {
  prefix: string;
  /** The environment this deployment was configured from: a child `hibiki worker` gets the same. */
  env: Record<string, string>;
  /** Closes everything and removes the test's database, queues and outbox. */
  dispose(): Promise<void>;
}

/**
 * The real wiring of src/deps.ts over a database, queue prefix and outbox of the test's
 * own, with fast retries so retry paths finish within a test.
 */
export async function createTestDeps(options: TestDepsOptions = {}): Promise<TestDeps> {
  const testDb = await createTestDb(options.store ?? 'sqlite');
  // createDeps opens its own connection from the URL; the helper's handle only prepares and drops it.
  const prefix = uniquePrefix('hibiki-test');
  const outbox = mkdtempSync(join(tmpdir(), 'hibiki-outbox-'));
  const env: Record<string, string> = {
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: testDb.url,
    OUTBOX_DIR: outbox,
    PUBLIC_BASE_URL: 'https://hibiki.example.jp',
    HIBIKI_SECRET: 'test-secret-test-secret-test-secret-0123',
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '200',
    STALLED_INTERVAL_MS: '1000',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  if (testDb.schema) env.DATABASE_SCHEMA = testDb.schema;
  recordSecrets(env);
  const config: Config = loadConfig(env);
  const deps = await createDeps(config, {
    // Every line goes to test-artifacts/logs/, for the scan that runs after the suite
    // (test/log-scan): LOG_LEVEL above stays what a child `hibiki` gets, not this logger's level.
    logger: createLogger(TEST_LOG_LEVEL, testLogDestination()),
    ...options.overrides,
  });
  return {
    ...deps,
    prefix,
    env,
    async dispose() {
      await deps.close();
      await cleanupPrefix(prefix);
      await testDb.drop();
      rmSync(outbox, { recursive: true, force: true });
    },
  };
}
