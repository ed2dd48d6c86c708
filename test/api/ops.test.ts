import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsRoutes } from '../../src/api/ops.ts';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createChannelStates } from '../../src/queue/channel-state.ts';
import { createTestDb } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

let deps: TestDeps;
let app: ReturnType<typeof createApp>;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      cb();
    },
  });
  deps = await createTestDeps({ overrides: { logger: createLogger('info', sink) } });
  app = createApp(deps);
});
afterAll(async () => {
  await deps.dispose();
});

describe('operations endpoints', () => {
  it('GET /healthz is 200 {status: ok}', async () => {
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 when Redis and the store answer', async () => {
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: { redis: 'ok', store: 'ok' },
      channels: Object.fromEntries(deps.channels.ids().map((id) => [id, { status: 'up' }])),
    });
  });

  it('GET /readyz stays 200 while a channel is down, saying which one, since when and why', async () => {
    const states = createChannelStates(deps.redis, deps.config.queuePrefix);
    const since = new Date('2026-12-07T08:05:00Z');
    await states.markDown('mail', 'cannot make any of 5 deliveries to SMTP server relay:25 (ECONNREFUSED)', since);
    try {
      const res = await app.request('/readyz');
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        status: 'degraded',
        checks: { redis: 'ok', store: 'ok' },
        channels: {
          mail: { status: 'down', since: since.toISOString(), reason: expect.stringContaining('ECONNREFUSED') },
        },
      });
      expect(body.message).toContain('メール（12月7日 17時05分 から）');
      expect(body.message_en).toContain('E-mail (since 2026-12-07 17:05 JST)');
    } finally {
      await states.clear('mail');
    }
    expect(((await (await app.request('/readyz')).json()) as { status: string }).status).toBe('ok');
  });

  it('GET /readyz is 503 naming Redis when nothing listens there', async () => {
    const redis = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    const ops = createOpsRoutes({ ...deps, redis });
    const res = await ops.request('/readyz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: Record<string, string>; message: string };
    expect(body.checks).toEqual({ redis: 'error', store: 'ok' });
    expect(body.message).toContain('redis');
    redis.disconnect();
  });

  it('GET /readyz is 503 with a timeout when Redis accepts but never answers, and when the store is gone', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const redis = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    const db = await createTestDb('sqlite');
    await db.close();
    const ops = createOpsRoutes(
      { ...deps, redis, store: { ...deps.store, probe: () => db.probe() } },
      { readyTimeoutMs: 300 },
    );
    const res = await ops.request('/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: unknown }).checks).toEqual({ redis: 'timeout', store: 'error' });
    redis.disconnect();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await db.drop().catch(() => {});
  });

  it('GET /metrics is Prometheus text with the queue and delivery metrics', async () => {
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# HELP hibiki_deliveries_total');
    expect(text).toContain('hibiki_queue_jobs{queue="dispatch",state="waiting"}');
  });

  it('/openapi.json documents every route, the request bodies and the bearer scheme; /docs serves Swagger UI', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      info: { title: string };
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, unknown> }; security?: unknown[] }>
      >;
      components: {
        schemas: Record<string, { properties?: Record<string, unknown> }>;
        securitySchemes: Record<string, unknown>;
      };
    };
    expect(doc.info.title).toBe('Hibiki API');
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'POST /v1/notices',
        'GET /v1/notices',
        'GET /v1/notices/{id}',
        'GET /v1/notices/{id}/deliveries',
        'POST /v1/notices/{id}/revisions',
        'POST /v1/notices/{id}/cancel',
        'POST /v1/notices/{id}/retry',
        'POST /v1/notices/{id}/approve',
        'POST /v1/notices/{id}/return',
        'POST /v1/notices/{id}/resubmit',
        'POST /v1/preview',
        'POST /v1/subscribers',
        'GET /v1/subscribers/export.csv',
        'GET /v1/tokens',
        'POST /v1/tokens',
        'DELETE /v1/tokens/{id}',
        'GET /v1/webhooks',
        'POST /v1/webhooks',
        'GET /v1/webhooks/{id}',
        'PATCH /v1/webhooks/{id}',
        'DELETE /v1/webhooks/{id}',
        'POST /v1/webhooks/{id}/rotate-secret',
        'POST /v1/public/subscriptions',
      ].sort(),
    );
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/notices']?.post?.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(doc.components.schemas.NoticeInput?.properties ?? {})).toEqual(
      expect.arrayContaining([
        'title',
        'body',
        'severity',
        'category',
        'topics',
        'areas',
        'channels',
        'mode',
        'expiresAt',
        'scheduledAt',
        'link',
        'department',
        'requestApproval',
      ]),
    );
    expect(Object.keys(doc.paths['/v1/subscribers']?.post?.requestBody?.content ?? {}).sort()).toEqual([
      'application/json',
      'text/csv',
    ]);
    expect(doc.components.schemas.SubscriberImportRow).toBeDefined();
    expect(doc.components.schemas.Error).toBeDefined();

    const docs = await app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/openapi.json');
  });

  it('an unknown route is a JSON 404', async () => {
    const res = await app.request('/v2/nothing');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('logs one line per request with its request id, never the Authorization header or the query', async () => {
    const res = await app.request('/v1/notices?secret=shh', {
      headers: { authorization: 'Bearer hbk_should-not-be-logged' },
    });
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const line = logLines.find((l) => l.requestId === id);
    expect(line).toMatchObject({ method: 'GET', path: '/v1/notices', status: 401, msg: 'request' });
    expect(typeof line?.ms).toBe('number');
    const all = JSON.stringify(logLines);
    expect(all).not.toContain('hbk_should-not-be-logged');
    expect(all).not.toContain('shh');
  });

  it('makes its own request id, whatever id the caller sends (test/abuse/audit-gaps.test.ts over HTTP)', async () => {
    const res = await app.request('/healthz', { headers: { 'x-request-id': 'probe-123' } });
    expect(res.headers.get('x-request-id')).not.toBe('probe-123');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
