import type { WorkerOptions } from 'bullmq';
import type { Deps } from '../src/deps.ts';
import { backoffStrategy } from './failure.ts';

/** Settings every Hibiki worker shares: connection, prefix, stall detection and backoff. */
export function baseWorkerOptions(deps: Pick<Deps, 'redis' | 'config'>): WorkerOptions {
  const { delivery } = deps.config;
  return {
    connection: deps.redis,
    prefix: deps.config.queuePrefix,
    // A killed worker's job is taken up again once its lock expires; the lock is renewed
    // every half lockDuration while the worker lives.
    lockDuration: delivery.stalledIntervalMs,
    stalledInterval: delivery.stalledIntervalMs,
    // A job that stalls because its worker was killed is not at fault: take it up again
    // many times rather than failing every recipient in it.
    maxStalledCount: 10,
    settings: {
      backoffStrategy: backoffStrategy({ baseMs: delivery.retryBaseMs, maxMs: delivery.retryMaxMs }),
    },
  };
}
