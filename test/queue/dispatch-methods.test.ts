import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DISPATCH_QUEUE } from '../../src/queue/names.ts';
import { createQueues, type Queues } from '../../src/queue/queues.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

describe('the dispatch methods the notice service uses', () => {
  const open: Array<{ queues: Queues; redis: Redis; prefix: string }> = [];
  afterEach(async () => {
    for (const { queues, redis, prefix } of open.splice(0)) {
      await queues.close();
      redis.disconnect();
      await cleanupPrefix(prefix);
    }
  });
  const setUp = () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const prefix = uniquePrefix('dispatch-methods');
    const queues = createQueues({ connection: redis, prefix, attempts: 1 });
    open.push({ queues, redis, prefix });
    return { queues, redis, prefix };
  };

  it('withdraws a scheduled dispatch that has not started, and says so when there is none', async () => {
    const { queues } = setUp();
    expect(await queues.cancelScheduledDispatch('n-1', 1)).toBe(true);
    await queues.enqueueDispatch({ noticeId: 'n-1', revision: 1 }, { priority: 5, delayMs: 60_000 });
    expect(await queues.dispatch.getJobCounts('delayed')).toEqual({ delayed: 1 });
    expect(await queues.cancelScheduledDispatch('n-1', 1)).toBe(true);
    expect(await queues.dispatch.getJobCounts('delayed')).toEqual({ delayed: 0 });
  });

  it('leaves a waiting dispatch alone, and retries one that failed', async () => {
    const { queues, redis, prefix } = setUp();
    expect(await queues.retryFailedDispatch('n-2', 1)).toBe('absent');
    await queues.enqueueDispatch({ noticeId: 'n-2', revision: 1 }, { priority: 5 });
    expect(await queues.retryFailedDispatch('n-2', 1)).toBe('present');
    expect(await queues.cancelScheduledDispatch('n-2', 1)).toBe(false);
    const workerConnection = redis.duplicate();
    const failed = new Promise<void>((resolve) => {
      const worker = new Worker(
        DISPATCH_QUEUE,
        async () => {
          throw new Error('down');
        },
        { connection: workerConnection, prefix, settings: { backoffStrategy: () => 0 } },
      );
      worker.on('failed', () => {
        void worker.close().then(() => resolve());
      });
    });
    await failed;
    workerConnection.disconnect();
    expect(await queues.retryFailedDispatch('n-2', 1)).toBe('retried');
    expect(await queues.dispatch.getJobCounts('failed')).toEqual({ failed: 0 });
  });
});
