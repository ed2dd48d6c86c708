import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress, clientAddressMiddleware, createClientAddress } from '../../src/http/client-address.ts';
import { createRateLimiter } from '../../src/queue/rate-limit.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { sendFrom } from '../helpers/send-from.ts';

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
    // Two deployments in one: /none trusts no proxy (the default), /proxied trusts 127.0.0.1 and 10.0.0.0/8.
    const app = new Hono();
    app.use('/proxied', clientAddressMiddleware(createClientAddress(['127.0.0.1', '10.0.0.0/8'])));
    app.get('/none', (c) => c.text(clientAddress(c)));
    app.get('/proxied', (c) => c.text(clientAddress(c)));
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const seen = async (from: string, path: string, forwardedFor?: string) =>
    (await sendFrom(from, `${base}${path}`, { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} })).text;

  it('with no proxy trusted, is the peer whatever X-Forwarded-For says, even from loopback', async () => {
    expect(await seen('127.0.0.1', '/none')).toBe('127.0.0.1');
    expect(await seen('127.0.0.1', '/none', '6.6.6.6, 203.0.113.9')).toBe('127.0.0.1');
  });

  it('from a trusted proxy, is the rightmost X-Forwarded-For entry that is not itself a trusted proxy', async () => {
    expect(await seen('127.0.0.1', '/proxied', '6.6.6.6, 203.0.113.9')).toBe('203.0.113.9');
    // A chain of trusted proxies (10.0.0.0/8 in front of 127.0.0.1): the first address none of them is.
    expect(await seen('127.0.0.1', '/proxied', '6.6.6.6, 203.0.113.9, 10.1.2.3')).toBe('203.0.113.9');
    expect(await seen('127.0.0.1', '/proxied', '2001:db8::7')).toBe('2001:db8::7');
  });

  it('from a peer that is not a trusted proxy, is the peer', async () => {
    expect(await seen('127.0.0.2', '/proxied', '203.0.113.9')).toBe('127.0.0.2');
  });

  it('ignores what is not an IP address: the walk stops there, at the last trusted hop', async () => {
    expect(await seen('127.0.0.1', '/proxied', 'anything-7')).toBe('127.0.0.1');
    expect(await seen('127.0.0.1', '/proxied', '203.0.113.9, anything-7')).toBe('127.0.0.1');
    expect(await seen('127.0.0.1', '/proxied', 'anything-7, 10.1.2.3')).toBe('10.1.2.3');
    expect(await seen('127.0.0.1', '/proxied', '203.0.113.9:4711')).toBe('127.0.0.1');
  });

  it('in-process (no socket) reads X-Forwarded-For as a proxy’s, but only an address', async () => {
    const app = new Hono().get('/', (c) => c.text(clientAddress(c)));
    const of = async (xff: string) => (await app.request('/', { headers: { 'x-forwarded-for': xff } })).text();
    expect(await of('198.51.100.7')).toBe('198.51.100.7');
    expect(await of('anything-7')).toBe('unknown');
  });
});
