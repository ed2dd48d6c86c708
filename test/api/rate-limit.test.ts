import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress } from '../../src/api/client-address.ts';
import { createRateLimiter } from '../../src/api/rate-limit.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

describe('fixed-window rate limiter on real Redis', () => {
  const prefix = uniquePrefix('ratelimit');
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('allows `limit` hits per key in a window, counts keys apart, and sets the window on the first hit', async () => {
    const limiter = createRateLimiter(redis, prefix);
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await limiter.hit('a', 3, 600));
    expect(hits.map((h) => [h.allowed, h.count])).toEqual([
      [true, 1],
      [true, 2],
      [true, 3],
      [false, 4],
    ]);
    expect(hits[3]?.retryAfterSeconds).toBeGreaterThan(590);
    expect(hits[3]?.retryAfterSeconds).toBeLessThanOrEqual(600);
    expect(await redis.ttl(`${prefix}:a`)).toBeGreaterThan(0);
    expect((await limiter.hit('b', 3, 600)).allowed).toBe(true);
    await limiter.reset('a');
    expect(await limiter.hit('a', 3, 600)).toMatchObject({ allowed: true, count: 1 });
  });

  it('a key left without expiry (by anything else) gets one on the next hit', async () => {
    await redis.set(`${prefix}:stuck`, '5');
    const hit = await createRateLimiter(redis, prefix).hit('stuck', 3, 60);
    expect(hit.allowed).toBe(false);
    expect(await redis.ttl(`${prefix}:stuck`)).toBeGreaterThan(0);
  });
});

describe('clientAddress over a real socket', () => {
  let server: ServerType;
  let base: string;

  beforeAll(async () => {
    const app = new Hono().get('/', (c) => c.text(clientAddress(c)));
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('is the peer, or behind a proxy on loopback the last X-Forwarded-For entry (the one the proxy added)', async () => {
    expect(await (await fetch(base)).text()).toBe('127.0.0.1');
    const forwarded = await fetch(base, { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' } });
    expect(await forwarded.text()).toBe('203.0.113.9');
  });
});
