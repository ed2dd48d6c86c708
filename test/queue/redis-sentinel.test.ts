import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createRedis } from '../../src/queue/redis-connection.ts';
import { configErrorOf } from '../helpers/config-error.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { freePort, type OwnRedis, startOwnRedis } from '../helpers/redis-server.ts';
import { waitUntil } from '../helpers/wait.ts';

describe('REDIS_SENTINELS settings', () => {
  const error = configErrorOf;

  it('reads the Sentinels and the master name; unset, Redis is REDIS_URL alone', () => {
    expect(loadConfig({}).redisSentinel).toBeUndefined();
    expect(
      loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.2:26380', REDIS_SENTINEL_NAME: 'hibiki' }).redisSentinel,
    ).toEqual({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'hibiki',
      password: undefined,
    });
  });

  it('refuses Sentinels without a master name, a name without Sentinels, and a bad host:port', () => {
    expect(error({ REDIS_SENTINELS: 'sentinel-1:26379' })).toMatch(/^REDIS_SENTINEL_NAME: REDIS_SENTINELS is set/);
    expect(error({ REDIS_SENTINEL_NAME: 'hibiki' })).toMatch(/^REDIS_SENTINELS: REDIS_SENTINEL_NAME or/);
    expect(error({ REDIS_SENTINELS: 'sentinel-1', REDIS_SENTINEL_NAME: 'hibiki' })).toMatch(
      /^REDIS_SENTINELS: host:port of each Sentinel/,
    );
    expect(
      error({ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm', REDIS_URL: 'rediss://cache.example.jp:6380' }),
    ).toMatch(/^REDIS_URL: TLS \(rediss:\/\/\) through Sentinel is not supported/);
  });

  it('never shows the Sentinel password in an error', () => {
    const message = error({ REDIS_SENTINEL_PASSWORD: 'sentinel-secret-1' });
    expect(message).not.toContain('sentinel-secret-1');
  });
});

/** A replica of the test's own Redis and one Sentinel watching both, on free ports. */
async function startSentinelRig(master: OwnRedis) {
  const dir = mkdtempSync(join(tmpdir(), 'hibiki-sentinel-'));
  const children: ChildProcess[] = [];
  const replicaPort = await freePort();
  children.push(
    spawn(
      'redis-server',
      [
        '--port',
        String(replicaPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--replicaof',
        '127.0.0.1',
        String(master.port),
      ],
      { stdio: 'ignore' },
    ),
  );
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its own file, so it is one of the test's.
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `sentinel monitor hibiki 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds hibiki 1000',
      'sentinel failover-timeout hibiki 5000',
      '',
    ].join('\n'),
  );
  children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
  const sentinel = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100 });
  sentinel.on('error', () => undefined);
  const masterPort = async () =>
    Number(((await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'hibiki')) as string[] | null)?.[1]);
  await waitUntil(
    'the Sentinel to know the master and its replica in sync',
    async () => {
      if (sentinel.status === 'wait') await sentinel.connect();
      const replicas = (await sentinel.call('SENTINEL', 'replicas', 'hibiki')) as string[][];
      const flat = replicas.map((r) => Object.fromEntries(r.flatMap((v, i) => (i % 2 ? [] : [[v, r[i + 1]]]))));
      return (
        (await masterPort()) === master.port &&
        flat.some((r) => r.port === String(replicaPort) && r['master-link-status'] === 'ok')
      );
    },
    20_000,
    100,
  );
  return {
    sentinelPort,
    replicaPort,
    masterPort,
    failover: () => sentinel.call('SENTINEL', 'failover', 'hibiki'),
    async close() {
      sentinel.disconnect();
      for (const c of children) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('Redis through Sentinel (real redis-server and redis-sentinel)', () => {
  let master: OwnRedis;
  let rig: Awaited<ReturnType<typeof startSentinelRig>>;

  beforeAll(async () => {
    master = await startOwnRedis();
    rig = await startSentinelRig(master);
  }, 30_000);
  afterAll(async () => {
    await rig?.close();
    await master?.close();
  });

  it('runs BullMQ jobs on the master the Sentinel names, and on the new master after a failover', async () => {
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_SENTINELS: `127.0.0.1:${rig.sentinelPort}`,
      REDIS_SENTINEL_NAME: 'hibiki',
    });
    const redis = createRedis(config, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    const prefix = uniquePrefix('sentinel');
    const queue = new Queue('jobs', { connection: redis, prefix });
    queue.on('error', () => undefined);
    const done: string[] = [];
    const worker = new Worker(
      'jobs',
      async (job) => {
        done.push(job.name);
      },
      { connection: redis, prefix },
    );
    worker.on('error', () => undefined);
    try {
      await queue.add('before', {}, { jobId: 'before' });
      await waitUntil('the first job to run', () => done.includes('before'));
      expect(Number((await redis.info('server')).match(/tcp_port:(\d+)/)?.[1])).toBe(master.port);

      await rig.failover();
      await waitUntil(
        'the Sentinel to name the replica master',
        async () => (await rig.masterPort()) === rig.replicaPort,
      );
      // The Sentinel's +switch-master moves the connection; no restart, no new setting.
      await waitUntil(
        'the connection to move to the new master',
        async () => Number((await redis.info('server')).match(/tcp_port:(\d+)/)?.[1]) === rig.replicaPort,
        20_000,
        100,
      );
      await queue.add('after', {}, { jobId: 'after' });
      await waitUntil('the second job to run', () => done.includes('after'), 20_000);
      expect(await queue.getJobState('after')).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
      redis.disconnect();
    }
  }, 60_000);
});
