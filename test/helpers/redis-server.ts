import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitUntil } from './wait.ts';

/**
 * A redis-server of the test's own, for faults the shared one must never suffer (a kill, a
 * restart, a lost AOF tail). Persistence as the README asks of production: AOF fsynced
 * every second, no eviction, no RDB snapshots.
 */
export interface OwnRedis {
  port: number;
  url: string;
  dir: string;
  readonly pid: number | undefined;
  /** Kills redis-server with the signal (SIGKILL: no shutdown, no final fsync) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory; it reloads the AOF. Resolves once it answers PING. */
  start(): Promise<void>;
  /** Bytes in the AOF's newest incremental file: what a power cut could lose the tail of. */
  aofSize(): number;
  /** Cuts the newest incremental AOF file back to `bytes`, as a power cut before its fsync would. */
  truncateAof(bytes: number): void;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/** A port nothing listens on now (redis-server refuses `--port 0`). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hibiki-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const aofDir = join(dir, 'appendonlydir');
  /** Redis 7 keeps a base file and incremental files named in a manifest; the last incr file takes new writes. */
  const incrFile = (): string => {
    const manifest = readFileSync(join(aofDir, 'appendonly.aof.manifest'), 'utf8');
    const incr = manifest
      .split('\n')
      .filter((line) => line.includes('type i'))
      .map((line) => /file (\S+)/.exec(line)?.[1])
      .filter((name): name is string => Boolean(name));
    const last = incr[incr.length - 1];
    if (!last) throw new Error(`no incremental AOF file in ${readdirSync(aofDir).join(', ')}`);
    return join(aofDir, last);
  };

  const start = async () => {
    output = '';
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
        // A manual rewrite would move writes into a new base file; keep them in one incr file.
        '--auto-aof-rewrite-percentage',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (d) => {
      output += d;
    });
    proc.stderr?.on('data', (d) => {
      output += d;
    });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await waitUntil(
        `redis-server on port ${port} to answer`,
        async () => {
          if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
          if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
          // LOADING while it replays the AOF; PONG once it serves.
          return (await probe.ping().catch(() => undefined)) === 'PONG';
        },
        10_000,
        50,
      );
    } finally {
      probe.disconnect();
    }
  };

  await start();

  return {
    port,
    url,
    dir,
    get pid() {
      return child?.pid;
    },
    async kill(signal = 'SIGKILL') {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    start,
    aofSize: () => statSync(incrFile()).size,
    truncateAof: (bytes) => truncateSync(incrFile(), bytes),
    async close() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
