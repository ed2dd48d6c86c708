import { Redis, type RedisOptions } from 'ioredis';

/** REDIS_URL, or the Sentinels (REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD) as config.ts reads them. */
export interface RedisSettings {
  redisUrl: string;
  redisSentinel?:
    | { sentinels: { host: string; port: number }[]; name: string; password: string | undefined }
    | undefined;
}

/**
 * The deployment's one Redis connection: to REDIS_URL, or, with REDIS_SENTINELS, to the
 * master the Sentinels name, followed to the new master after a failover. BullMQ
 * duplicates this connection for its blocking commands, and a duplicate keeps these
 * options, so every queue and worker follows the same master.
 */
export function createRedis(settings: RedisSettings, options: RedisOptions = {}): Redis {
  const sentinel = settings.redisSentinel;
  if (!sentinel) return new Redis(settings.redisUrl, options);
  // REDIS_URL's host and port are not used: the Sentinels say where the master is.
  const url = new URL(settings.redisUrl);
  const db = Number(url.pathname.slice(1) || 0);
  return new Redis({
    ...options,
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    // Told of a failover by the Sentinels (+switch-master), reconnect to the new master at once:
    // in a second or two, where waiting for the old master to drop its clients took ~10 s.
    failoverDetector: true,
    // A write that reached the old master as it became a replica: reconnect (to the new master) and send it again.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    ...(sentinel.password ? { sentinelPassword: sentinel.password } : {}),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
  });
}
