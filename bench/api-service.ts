import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PG_URL, type StoreKind } from '../test/helpers/db.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../test/helpers/redis.ts';
import { run, until } from './lib.ts';

const BIN = fileURLToPath(new URL('../src/bin.mjs', import.meta.url));

/**
 * The node flags of `npm start`, read from package.json so the bench starts the service
 * exactly as the README does; the bare baselines get the same.
 */
export const NODE_FLAGS: string[] = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('src/bin.mjs')).filter((w) => w.startsWith('--'));
})();

export type BenchStore = StoreKind;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A store of the run's own: a fresh SQLite file, or a fresh PostgreSQL schema; dropped afterwards. */
export interface BenchDatabase {
  env: Record<string, string>;
  /** Where a bare baseline server may keep its own table beside Hibiki's. */
  url: string;
  schema?: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(store: BenchStore, dir: string): Promise<BenchDatabase> {
  if (store === 'sqlite') {
    const url = `sqlite:${join(dir, 'bench.db')}`;
    return { env: { DATABASE_URL: url }, url, drop: async () => undefined };
  }
  const schema = `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  return {
    env: { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema },
    url: PG_URL,
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

export interface BenchService {
  baseUrl: string;
  /** An approver's staff token. */
  token: string;
  pid: number;
  db: BenchDatabase;
  /** The run's Redis key prefix (QUEUE_PREFIX); everything under it is deleted at stop(). */
  prefix: string;
  dir: string;
  /** The service's log file (its stdout and stderr). */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * `hibiki <command>` as its own process with the flags of `npm start`, its own store,
 * queue prefix and outbox, and real Redis. Its log goes to a file as a deployment's would:
 * through a pipe into this process it would cost the harness a line of work per request.
 * LOG_LEVEL is info as in a deployment (every request logs a line); BENCH_LOG_LEVEL changes it.
 */
export async function startBenchService(
  store: BenchStore,
  options: { command?: 'all' | 'serve'; env?: Record<string, string> } = {},
): Promise<BenchService> {
  const dir = mkdtempSync(join(tmpdir(), 'hibiki-bench-'));
  const db = await createBenchDatabase(store, dir);
  const prefix = uniquePrefix('hibiki-bench');
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    OUTBOX_DIR: join(dir, 'outbox'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...db.env,
    ...options.env,
  };
  const made = await run(process.execPath, [BIN, 'token', 'create', '--role', 'approver', '--name', 'bench'], { env });
  const token = made.stdout.trim().split('\n').at(-1) ?? '';
  const logFile = join(dir, 'hibiki.log');
  const fd = openSync(logFile, 'a');
  // BENCH_PROFILE=<dir> writes a CPU profile of the service, to see where its time goes.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...NODE_FLAGS, ...profile, BIN, options.command ?? 'all'], {
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const cleanup = async () => {
    await cleanupPrefix(prefix);
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      'hibiki to answer /readyz',
      async () => {
        if (child.exitCode !== null) throw new Error(`hibiki exited with ${child.exitCode}; see ${logFile}`);
        return (await fetch(`${baseUrl}/readyz`).catch(() => null))?.ok === true;
      },
      30_000,
      100,
    );
  } catch (err) {
    child.kill('SIGTERM');
    await exited;
    // The log stays for a look at why; the store and the queue keys go.
    await cleanupPrefix(prefix);
    await db.drop();
    throw err;
  }
  return {
    baseUrl,
    token,
    pid: child.pid as number,
    db,
    prefix,
    dir,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await cleanup();
    },
  };
}

/** Sum of the service's queued, waiting and running jobs, from its /metrics. */
export async function queuedJobs(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^hibiki_queue_jobs\{[^}]*state="(waiting|prioritized|active|delayed)"[^}]*\} (\d+)/.exec(line);
    if (m) total += Number(m[2]);
  }
  return total;
}

/** A bare baseline server (bench/bare-feed-server.ts or bench/api-bare-server.ts) in its own process. */
export interface BareServer {
  baseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startBareServer(script: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('close', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  } satisfies BareServer;
}
