import type { Redis } from 'ioredis';

/** Renews the lock only while this owner holds it. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
/** Releases the lock only if this owner holds it (an expired lock may be someone else's by now). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export interface BatchLock {
  /** Aborted if the lock was lost (not renewed in time): another run may hold the batch now. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export type BatchLockResult = { held: BatchLock } | { busyForMs: number };

/**
 * One run at a time per delivery batch, whatever the job that carries it. Two jobs can
 * carry one batch (a dispatch taken up again after a crash enqueues the page it was on
 * anew), and BullMQ runs a job a second time when its lock expires under a live worker;
 * both runs would read the same queued rows and send them twice. The lock lives as long
 * as a job lock (ttlMs), renewed every quarter of it, so a killed worker's batch is free
 * again when its job is.
 */
export async function lockBatch(redis: Redis, key: string, owner: string, ttlMs: number): Promise<BatchLockResult> {
  const taken = await redis.set(key, owner, 'PX', ttlMs, 'NX');
  if (taken !== 'OK') {
    const left = await redis.pttl(key);
    return { busyForMs: left > 0 ? left : ttlMs };
  }
  const lost = new AbortController();
  const renew = setInterval(() => {
    redis
      .eval(RENEW, 1, key, owner, String(ttlMs))
      .then((renewed) => {
        if (Number(renewed) === 1) return;
        clearInterval(renew);
        lost.abort(new Error('batch lock lost'));
      })
      // A Redis error is not a lost lock: the next renewal tries again within the lock's life.
      .catch(() => undefined);
  }, ttlMs / 4);
  renew.unref();
  return {
    held: {
      lost: lost.signal,
      async release() {
        clearInterval(renew);
        await redis.eval(RELEASE, 1, key, owner);
      },
    },
  };
}
