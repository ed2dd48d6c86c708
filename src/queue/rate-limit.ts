import type { Redis } from 'ioredis';

/**
 * Fixed-window counters in Redis, shared by every API process: the first hit of a key
 * starts its window, later hits count until the window's key expires. Coarser than a
 * sliding window, but one round trip and exact enough to stop a form being used to
 * flood a mailbox.
 */

export interface RateLimitResult {
  allowed: boolean;
  /** Hits in the current window, this one included. */
  count: number;
  /** Seconds until the window ends (for Retry-After). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one hit on key; allowed while the count is at most `limit` in the window. */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
  /** Forgets a key's window (tests, or an operator lifting a block). */
  reset(key: string): Promise<void>;
}

// INCR and EXPIRE in one script, so a crash between them cannot leave a key that never expires.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

/** Keys live under `<prefix>:<key>`; callers hash anything personal (addresses) into the key. */
export function createRateLimiter(redis: Redis, prefix: string): RateLimiter {
  return {
    async hit(key, limit, windowSeconds) {
      const [count, ttl] = (await redis.eval(HIT, 1, `${prefix}:${key}`, String(windowSeconds))) as [number, number];
      return { allowed: count <= limit, count, retryAfterSeconds: Math.max(1, ttl) };
    },
    async reset(key) {
      await redis.del(`${prefix}:${key}`);
    },
  };
}
