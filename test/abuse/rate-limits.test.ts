import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeps, type Deps } from '../../src/deps.ts';
import { publicPostLimit } from '../../src/http/public-post-limit.ts';
import { createLogger } from '../../src/logger.ts';
import { createRateLimiter } from '../../src/queue/rate-limit.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { freePort } from '../helpers/redis-server.ts';
import { TEST_LOG_LEVEL, testLogDestination } from '../log-scan/log-dir.ts';

/**
 * The public POSTs that need no token are limited per client, in Redis: two API processes
 * (two apps over the same QUEUE_PREFIX, each with its own connections, as two processes
 * have) share one count, and one client's flood does not hold back another client.
 */

const LINE_SECRET = 'abuse-line-channel-secret';
const CLIENT_A = '198.51.100.7';
const CLIENT_B = '203.0.113.9';

interface ErrorJson {
  error: { code: string; message: string; message_en: string };
}

describe('per-client limits shared by two API processes', () => {
  let deps: TestDeps;
  /** The second process: the same settings, its own Redis and store connections. */
  let other: Deps;
  let apps: ReturnType<typeof createApp>[];

  beforeAll(async () => {
    deps = await createTestDeps({
      env: {
        LINE_CHANNEL_SECRET: LINE_SECRET,
        LINE_WEBHOOK_LIMIT_PER_CLIENT: '5',
        LINE_WEBHOOK_LIMIT_WINDOW_SECONDS: '60',
        PUBLIC_POST_LIMIT_PER_CLIENT: '3',
        PUBLIC_POST_LIMIT_WINDOW_SECONDS: '60',
        SIGNUP_LIMIT_PER_ADDRESS: '2',
        // Below PUBLIC_POST_LIMIT_PER_CLIENT, which counts sign-ups too (before their bodies are read).
        SIGNUP_LIMIT_PER_CLIENT: '2',
      },
    });
    other = await createDeps(loadConfig(deps.env), { logger: createLogger(TEST_LOG_LEVEL, testLogDestination()) });
    apps = [createApp(deps), createApp(other)];
  });
  afterAll(async () => {
    await other?.close();
    await deps?.dispose();
  });

  /** The i-th request goes to the process i % 2, as a load balancer would send it. */
  const app = (i: number) => apps[i % 2] as ReturnType<typeof createApp>;

  function lineWebhook(i: number, client: string, signature?: string) {
    const body = JSON.stringify({ destination: 'Uffffffffffffffffffffffffffffffff', events: [] });
    return app(i).request('/webhooks/line', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': client,
        'x-line-signature': signature ?? createHmac('sha256', LINE_SECRET).update(body).digest('base64'),
      },
      body,
    });
  }

  async function expect429(res: Response, windowSeconds: number) {
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain(`${retryAfter} 秒後`);
    expect(body.error.message_en).toContain(`${retryAfter} seconds`);
  }

  it('POST /webhooks/line: the limit holds across both processes, per client, forged requests counted too', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await lineWebhook(i, CLIENT_A)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await expect429(await lineWebhook(5, CLIENT_A), 60);
    await expect429(await lineWebhook(6, CLIENT_A), 60);
    // Refused before the signature is checked: a flood of forgeries costs one Redis call each.
    await expect429(await lineWebhook(7, CLIENT_A, 'forged'), 60);
    // LINE's other server, or another client, has its own count.
    expect((await lineWebhook(0, CLIENT_B)).status).toBe(200);
    expect((await lineWebhook(1, CLIENT_B, 'forged')).status).toBe(401);
  });

  it('the resident-link POSTs (unsubscribe, confirm, manage, push lookup) share one count per client', async () => {
    const post = (i: number, path: string, client: string) =>
      app(i).request(path, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': client,
          origin: 'https://hibiki.example.jp',
        },
        body: 'List-Unsubscribe=One-Click',
      });
    // A bad link is a 400 (or the refusal page); what matters is that it is not 429 yet.
    const first = [
      await post(0, '/unsubscribe?c=1&t=bad', CLIENT_A),
      await post(1, '/subscribe/confirm?t=bad', CLIENT_A),
      await post(0, '/manage?t=bad', CLIENT_A),
    ];
    for (const res of first) expect(res.status).not.toBe(429);
    await expect429(await post(1, '/unsubscribe?c=1&t=bad', CLIENT_A), 60);
    await expect429(await post(0, '/manage?t=bad', CLIENT_A), 60);
    expect((await post(1, '/unsubscribe?c=1&t=bad', CLIENT_B)).status).not.toBe(429);
    // Pages are not counted: a resident reading them is never held back.
    expect((await app(0).request('/notices', { headers: { 'x-forwarded-for': CLIENT_A } })).status).toBe(200);
  });

  it('public sign-up: per address and per client, across both processes', async () => {
    const signup = (i: number, email: string, client: string) =>
      app(i).request('/v1/public/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
        body: JSON.stringify({ email, topics: ['disaster'] }),
      });
    // Per address (2), whatever the client.
    expect((await signup(0, 'same@example.jp', '192.0.2.1')).status).toBe(202);
    expect((await signup(1, 'same@example.jp', '192.0.2.2')).status).toBe(202);
    const byAddress = await signup(0, 'same@example.jp', '192.0.2.3');
    expect(byAddress.status).toBe(429);
    expect(Number(byAddress.headers.get('retry-after'))).toBeGreaterThan(0);
    // Per client (2), whatever the address.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signup(i, `c${i}@example.jp`, '192.0.2.50')).status);
    expect(statuses).toEqual([202, 202, 429, 429]);
    expect((await signup(1, 'c9@example.jp', '192.0.2.51')).status).toBe(202);
  });
});

describe('the limits’ defaults', () => {
  it('let LINE’s few servers deliver a busy minute (600 a minute per address), and limit every other public POST', () => {
    const config = loadConfig({});
    expect(config.lineWebhookLimits).toEqual({ perClient: 600, windowSeconds: 60 });
    expect(config.publicPostLimits).toEqual({ perClient: 600, windowSeconds: 60 });
    expect(config.signupLimits).toEqual({ perAddress: 3, perClient: 20, windowSeconds: 3_600 });
    // Sign-up mail per recipient domain and for the whole city, per window, whatever the addresses.
    expect(config.signupMailCaps).toEqual({ perDomain: 200, global: 2_000 });
    expect(() => loadConfig({ LINE_WEBHOOK_LIMIT_PER_CLIENT: '0' })).toThrow(/LINE_WEBHOOK_LIMIT_PER_CLIENT/);
  });
});

describe('a limit whose Redis is away', () => {
  it('lets the request through uncounted (an unsubscribe or a LINE follow needs only the store) and says so once', async () => {
    // Nothing listens on the port: ioredis queues the command and never answers.
    const away = new Redis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: null });
    away.on('error', () => {});
    const lines: string[] = [];
    const app = new Hono();
    app.post(
      '/public',
      publicPostLimit({
        limiter: createRateLimiter(away, 'abuse-away'),
        bucket: 'client',
        perClient: 1,
        windowSeconds: 60,
        logger: createLogger('info', { write: (line: string) => void lines.push(line) }),
      }),
      (c) => c.text('handled'),
    );
    try {
      for (let i = 0; i < 2; i++) {
        const res = await app.request('/public', { method: 'POST', headers: { 'x-forwarded-for': CLIENT_A } });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('handled');
      }
      expect(lines.filter((l) => l.includes('rate limit could not be checked'))).toHaveLength(1);
    } finally {
      away.disconnect();
    }
  });
});
