import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookRoutes } from '../../src/api/webhooks.ts';
import { defaultCatalogue } from '../../src/domain/catalogue.ts';
import type { StaffRole } from '../../src/domain/staff.ts';
import type { AppEnv } from '../../src/http/auth.ts';
import { createErrorHandler, notFound, validationHook } from '../../src/http/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { createStore, type Store } from '../../src/store/store.ts';
import { createWebhookEndpointRepo, type WebhookEndpointRepo } from '../../src/store/webhook-endpoints.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import type { ErrorJson } from './harness.ts';

/**
 * The webhook admin routes mounted on an app of the test's own, with the same error
 * handling as src/app.ts, over a real store.
 */
let db: TestDb;
let store: Store;
let webhooks: WebhookEndpointRepo;
const tokens = {} as Record<StaffRole, string>;

function makeApp(allowHttpLoopback: boolean) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use(requestId());
  app.onError(createErrorHandler(createLogger('silent')));
  app.notFound(notFound);
  app.route(
    '/',
    createWebhookRoutes({
      tokens: store.tokens,
      webhooks,
      audit: store.audit,
      catalogue: defaultCatalogue({ code: '432105', name: '菊池市', nameEn: 'Kikuchi City' }),
      config: { webhook: { timeoutMs: 5_000, allowHttpLoopback } },
    }),
  );
  return app;
}

let app: ReturnType<typeof makeApp>;

function call(method: string, path: string, options: { as?: StaffRole | null; json?: unknown } = {}) {
  const headers: Record<string, string> = {};
  const as = options.as === undefined ? 'admin' : options.as;
  if (as) headers.authorization = `Bearer ${tokens[as]}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  return app.request(path, {
    method,
    headers,
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
  });
}

const anEndpoint = (overrides: Record<string, unknown> = {}) => ({
  name: '市ホームページ CMS',
  url: 'https://cms.city.example.jp/hooks/hibiki?key=receiver-token',
  topics: ['disaster', 'shelter'],
  ...overrides,
});

beforeAll(async () => {
  db = await createTestDb('sqlite');
  store = createStore(db, '432105');
  webhooks = createWebhookEndpointRepo(db);
  for (const role of ['author', 'approver', 'admin'] as const)
    tokens[role] = (await store.tokens.create(`staff-${role}`, role)).token;
  app = makeApp(false);
});
afterAll(async () => {
  await db.drop();
});

describe('webhook admin API', () => {
  it('creates an endpoint showing its secret once, lists it without, changes, rotates, deletes, and audits all', async () => {
    const res = await call('POST', '/v1/webhooks', { json: anEndpoint() });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = (await res.json()) as { id: number; secret: string } & Record<string, unknown>;
    expect(created).toMatchObject({
      name: '市ホームページ CMS',
      url: 'https://cms.city.example.jp/hooks/hibiki?key=receiver-token',
      topics: ['disaster', 'shelter'],
      areas: [],
      minSeverity: 'info',
      active: true,
      createdBy: 'staff-admin',
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(await webhooks.secretOf(created.id)).toBe(created.secret);

    const list = await call('GET', '/v1/webhooks');
    expect(list.status).toBe(200);
    const listText = await list.text();
    expect(listText).not.toContain(created.secret.slice(6));
    expect(listText).not.toMatch(/secret/i);
    const one = await call('GET', `/v1/webhooks/${created.id}`);
    expect(await one.json()).toMatchObject({ id: created.id, name: '市ホームページ CMS' });

    const patched = await call('PATCH', `/v1/webhooks/${created.id}`, {
      json: { minSeverity: 'warning', areas: ['432105'], active: false },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      id: created.id,
      minSeverity: 'warning',
      areas: ['432105'],
      topics: ['disaster', 'shelter'],
      active: false,
    });

    const rotated = await call('POST', `/v1/webhooks/${created.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const { secret } = (await rotated.json()) as { secret: string };
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(created.secret);
    expect(await webhooks.secretOf(created.id)).toBe(secret);

    const del = await call('DELETE', `/v1/webhooks/${created.id}`);
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ id: created.id, deleted: true });
    expect((await call('GET', `/v1/webhooks/${created.id}`)).status).toBe(404);
    expect((await call('DELETE', `/v1/webhooks/${created.id}`)).status).toBe(404);
    expect((await call('POST', `/v1/webhooks/${created.id}/rotate-secret`)).status).toBe(404);

    const audit = (await store.audit.list({ limit: 50 })).filter((e) => e.action.startsWith('webhook.')).reverse();
    expect(audit.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['webhook.create', 'staff-admin', String(created.id)],
      ['webhook.update', 'staff-admin', String(created.id)],
      ['webhook.rotate-secret', 'staff-admin', String(created.id)],
      ['webhook.delete', 'staff-admin', String(created.id)],
    ]);
    expect(audit[0]?.detail).toMatchObject({ name: '市ホームページ CMS', host: 'cms.city.example.jp' });
    expect(audit[1]?.detail).toEqual({ minSeverity: 'warning', areas: ['432105'], active: false });
    const auditText = JSON.stringify(audit);
    for (const s of [created.secret, secret]) expect(auditText).not.toContain(s.slice(6));
    // The URL's path and query may hold the receiver's own token: only the host is kept.
    expect(auditText).not.toContain('receiver-token');
    expect(auditText).not.toContain('/hooks/hibiki');
  });

  it('is for admins only', async () => {
    for (const role of ['author', 'approver'] as const) {
      const res = await call('POST', '/v1/webhooks', { as: role, json: anEndpoint({ url: 'https://a.example.jp/' }) });
      expect(res.status).toBe(403);
      expect((await call('GET', '/v1/webhooks', { as: role })).status).toBe(403);
    }
    expect((await call('GET', '/v1/webhooks', { as: null })).status).toBe(401);
    expect(await webhooks.list()).toEqual([]);
  });

  it('names each bad field: plain http, unknown topics and areas, a bad severity, unknown keys', async () => {
    const res = await call('POST', '/v1/webhooks', {
      json: anEndpoint({ url: 'http://cms.city.example.jp/hook', topics: ['disaster', 'gossip'], areas: ['131016'] }),
    });
    expect(res.status).toBe(400);
    const body = ((await res.json()) as ErrorJson).error;
    expect(body.code).toBe('validation_failed');
    expect(body.fields_en).toEqual({
      url: ['only https:// URLs are allowed'],
      topics: [expect.stringContaining('unknown topic(s): gossip')],
      areas: [expect.stringContaining('not an area of this city: 131016')],
    });
    expect(body.fields?.url?.[0]).toContain('https://');

    const severity = await call('POST', '/v1/webhooks', { json: anEndpoint({ minSeverity: 'critical' }) });
    expect(severity.status).toBe(400);
    expect(Object.keys(((await severity.json()) as ErrorJson).error.fields ?? {})).toEqual(['minSeverity']);

    const unknown = await call('POST', '/v1/webhooks', { json: anEndpoint({ secret: 'whsec_mine' }) });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as ErrorJson).error.code).toBe('unknown_field');

    const creds = await call('POST', '/v1/webhooks', { json: anEndpoint({ url: 'https://u:p@cms.example.jp/' }) });
    expect(((await creds.json()) as ErrorJson).error.fields_en?.url?.[0]).toContain('user name or password');
    expect(await webhooks.list()).toEqual([]);
  });

  it('allows http:// only to loopback, and only when WEBHOOK_ALLOW_HTTP_LOOPBACK is set', async () => {
    const loopback = anEndpoint({ url: 'http://127.0.0.1:9999/hook' });
    expect((await call('POST', '/v1/webhooks', { json: loopback })).status).toBe(400);
    app = makeApp(true);
    try {
      const ok = await call('POST', '/v1/webhooks', { json: loopback });
      expect(ok.status).toBe(201);
      const remote = await call('POST', '/v1/webhooks', { json: anEndpoint({ url: 'http://10.1.2.3/hook' }) });
      expect(remote.status).toBe(400);
      expect(((await remote.json()) as ErrorJson).error.fields_en?.url?.[0]).toContain('loopback');
      const { id } = (await ok.json()) as { id: number };
      await call('DELETE', `/v1/webhooks/${id}`);
    } finally {
      app = makeApp(false);
    }
  });

  it('refuses a URL another endpoint has (409), an empty change, and a change to a bad URL', async () => {
    const a = (await (
      await call('POST', '/v1/webhooks', { json: anEndpoint({ url: 'https://a.example.jp/h' }) })
    ).json()) as {
      id: number;
    };
    const b = (await (
      await call('POST', '/v1/webhooks', { json: anEndpoint({ url: 'https://b.example.jp/h' }) })
    ).json()) as {
      id: number;
    };
    const dup = await call('POST', '/v1/webhooks', { json: anEndpoint({ url: 'https://a.example.jp/h' }) });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as ErrorJson).error).toMatchObject({
      code: 'webhook_url_taken',
      message_en: `This URL is already used by webhook endpoint ${a.id}`,
    });
    const move = await call('PATCH', `/v1/webhooks/${b.id}`, { json: { url: 'https://a.example.jp/h' } });
    expect(move.status).toBe(409);

    const empty = await call('PATCH', `/v1/webhooks/${b.id}`, { json: {} });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorJson).error.code).toBe('nothing_to_change');
    const bad = await call('PATCH', `/v1/webhooks/${b.id}`, { json: { url: 'ftp://b.example.jp/' } });
    expect(bad.status).toBe(400);
    expect((await call('PATCH', '/v1/webhooks/424242', { json: { name: 'x' } })).status).toBe(404);
    expect((await call('PATCH', '/v1/webhooks/abc', { json: { name: 'x' } })).status).toBe(400);
    expect((await webhooks.get(b.id))?.url).toBe('https://b.example.jp/h');
  });

  it('documents every route in the OpenAPI description', () => {
    const doc = app.getOpenAPIDocument({ openapi: '3.0.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {}).sort()).toEqual([
      '/v1/webhooks',
      '/v1/webhooks/{id}',
      '/v1/webhooks/{id}/rotate-secret',
    ]);
  });
});
