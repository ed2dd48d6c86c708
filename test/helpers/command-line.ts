import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startHibiki } from './process.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from './redis.ts';

export interface CommandLine {
  /** The directory the command runs in, holding its SQLite store and outbox. */
  readonly dir: string;
  /** Its environment; a test may add to it before running. */
  readonly env: Record<string, string>;
  /** Runs `hibiki <args>` to its end, as people run it from that directory. */
  run(args: string[]): Promise<{ code: number | string; output: string }>;
}

/**
 * The `hibiki` command of one describe block: a directory and a SQLite store of its own, its
 * own queue prefix, made in beforeAll and removed in afterAll. Call it in the describe block.
 */
export function commandLineSuite(name: string): CommandLine {
  let dir = '';
  let env: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `${name}-`));
    env = {
      DATABASE_URL: `sqlite:${join(dir, 'hibiki.db')}`,
      REDIS_URL,
      QUEUE_PREFIX: uniquePrefix(name),
      OUTBOX_DIR: join(dir, 'outbox'),
      LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    await cleanupPrefix(env.QUEUE_PREFIX as string);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    get env() {
      return env;
    },
    async run(args) {
      const p = startHibiki(args, env, { cwd: dir });
      const code = await p.exited;
      return { code, output: p.output() };
    },
  };
}
