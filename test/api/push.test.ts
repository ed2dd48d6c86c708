import { createECDH, randomBytes } from 'node:crypto';
import { Script } from 'node:vm';
import { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVapidResolver, resolveVapidKeys } from '../../channels/webpush/vapid.ts';
import { createPushRoutes } from '../../src/api/push.ts';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import { DEFAULT_TOPICS } from '../../src/domain/catalogue.ts';
import { createErrorHandler, notFound, validationHook } from '../../src/http/errors.ts';
import { createRateLimiter } from '../../src/queue/rate-limit.ts';
import { createPushSubscriptionRepo, type PushSubscriptionRepo } from '../../src/store/push-subscriptions.ts';
import { createPushPageRoutes, PUSH_PAGE_CSP } from '../../src/web/push-page.tsx';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

const catalogue: Catalogue = {
  topics: DEFAULT_TOPICS,
  areas: [
    { code: '432105-01', name: '隈府', nameEn: 'Waifu' },
    { code: '432105-02', name: '七城', nameEn: 'Shichijo' },
  ],
};
const city = { code: '432105', name: '菊池市', nameEn: 'Kikuchi City' };

let deps: TestDeps;
let repo: PushSubscriptionRepo;
let app: OpenAPIHono;

beforeAll(async () => {
  deps = await createTestDeps();
  repo = createPushSubscriptionRepo(deps.store.db);
  app = new OpenAPIHono({ defaultHook: validationHook });
  app.onError(createErrorHandler(deps.logger));
  app.notFound(notFound);
  app.route(
    '/',
    createPushRoutes({
      subscriptions: repo,
      catalogue,
      vapidKeys: createVapidResolver(deps.config.webpush, deps.store.settings),
      logger: deps.logger,
      rateLimit: {
        limiter: createRateLimiter(deps.redis, `${deps.prefix}:ratelimit:push`),
        perClient: 5,
        windowSeconds: 60,
      },
    }),
  );
  app.route('/', createPushPageRoutes({ catalogue, city, defaultTopics: ['disaster', 'shelter'] }));
});
afterAll(async () => {
  await deps.dispose();
});

let clientSeq = 0;
/** Each test is its own client, so the per-client limit of one test does not touch another. */
const newClient = () => `198.51.100.${++clientSeq}`;

function browserJson(host = 'fcm.googleapis.com') {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `https://${host}/fcm/send/${randomBytes(12).toString('base64url')}`,
    expirationTime: null,
    keys: { p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

function call(method: string, path: string, body: unknown, client = newClient(), type = 'application/json') {
  return app.request(path, {
    method,
    headers: { 'content-type': type, 'x-forwarded-for': client },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface ErrorJson {
  error: {
    code: string;
    message: string;
    message_en: string;
    fields?: Record<string, string[]>;
    fields_en?: Record<string, string[]>;
  };
}

describe('push API', () => {
  it('serves the VAPID public key: the pair made once and kept in the store', async () => {
    const res = await app.request('/push/vapid-public-key');
    expect(res.status).toBe(200);
    const { publicKey } = (await res.json()) as { publicKey: string };
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65);
    expect(publicKey).toBe((await resolveVapidKeys(deps.config.webpush, deps.store.settings)).publicKey);
    const again = (await (await app.request('/push/vapid-public-key')).json()) as { publicKey: string };
    expect(again.publicKey).toBe(publicKey);
  });

  it('subscribes a browser with its choices (201), shows them back, and unsubscribes it (204)', async () => {
    const sub = browserJson();
    const client = newClient();
    const res = await call(
      'POST',
      '/push/subscriptions',
      { ...sub, topics: ['weather', 'disaster'], areas: ['432105-02'], locale: 'en' },
      client,
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ topics: ['disaster', 'weather'], areas: ['432105-02'], locale: 'en' });
    const stored = await repo.choices(sub.endpoint);
    expect(stored).toMatchObject({ active: true, topics: ['disaster', 'weather'], areas: ['432105-02'], locale: 'en' });
    expect(await repo.keysOf(stored?.contactId ?? 0)).toEqual(sub.keys);

    const current = await call('POST', '/push/subscriptions/current', { endpoint: sub.endpoint }, client);
    expect(current.status).toBe(200);
    expect(await current.json()).toEqual({ topics: ['disaster', 'weather'], areas: ['432105-02'], locale: 'en' });

    // Changing the choices is the same POST again.
    const changed = await call('POST', '/push/subscriptions', { ...sub, topics: ['health'], areas: [] }, client);
    expect(changed.status).toBe(201);
    expect(await repo.choices(sub.endpoint)).toMatchObject({ topics: ['health'], areas: [], locale: 'ja' });

    const del = await call('DELETE', '/push/subscriptions', { endpoint: sub.endpoint }, client);
    expect(del.status).toBe(204);
    expect(await repo.choices(sub.endpoint)).toBeUndefined();
    expect((await call('POST', '/push/subscriptions/current', { endpoint: sub.endpoint }, client)).status).toBe(404);
    // Stopping twice is not an error.
    expect((await call('DELETE', '/push/subscriptions', { endpoint: sub.endpoint }, client)).status).toBe(204);
  });

  it('accepts no topics (emergencies only) and defaults the language to Japanese', async () => {
    const sub = browserJson('updates.push.services.mozilla.com');
    const res = await call('POST', '/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ topics: [], areas: [], locale: 'ja' });
  });

  it('names the field and the reason, in Japanese and English, for each kind of bad input', async () => {
    const good = browserJson();
    const cases: [string, unknown, string, RegExp][] = [
      ['http endpoint', { ...good, endpoint: 'http://fcm.googleapis.com/fcm/send/x' }, 'endpoint', /https:\/\//],
      ['not a URL', { ...good, endpoint: 'fcm' }, 'endpoint', /not a URL/],
      ['off the list', { ...good, endpoint: 'https://10.0.0.5/push/1' }, 'endpoint', /push service is not supported/],
      ['short p256dh', { ...good, keys: { ...good.keys, p256dh: 'BAAA' } }, 'keys', /p256dh/],
      [
        'p256dh off the curve',
        {
          ...good,
          keys: { ...good.keys, p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url') },
        },
        'keys',
        /p256dh: not a P-256 public key/,
      ],
      [
        'auth of 8 bytes',
        { ...good, keys: { ...good.keys, auth: randomBytes(8).toString('base64url') } },
        'keys',
        /auth/,
      ],
      ['no keys', { endpoint: good.endpoint }, 'keys', /./],
      ['unknown topic', { ...good, topics: ['disaster', 'sports'] }, 'topics', /sports.*choose from disaster/],
      ['unknown area', { ...good, areas: ['131016'] }, 'areas', /131016/],
      ['bad locale', { ...good, locale: 'fr' }, 'locale', /./],
      ['unknown field', { ...good, email: 'a@example.jp' }, 'email', /unknown field/],
    ];
    for (const [what, body, field, reason] of cases) {
      const res = await call('POST', '/push/subscriptions', body);
      expect(res.status, what).toBe(400);
      const json = (await res.json()) as ErrorJson;
      expect(Object.keys(json.error.fields_en ?? {}), what).toContain(field);
      expect(json.error.fields_en?.[field]?.join(' '), what).toMatch(reason);
      expect(json.error.fields?.[field]?.length, what).toBeGreaterThan(0);
      expect(json.error.message_en, what).toContain(field);
    }
    expect(await repo.choices(good.endpoint)).toBeUndefined();
  });

  it('refuses a body that is not JSON', async () => {
    const res = await call(
      'POST',
      '/push/subscriptions',
      'endpoint=x',
      newClient(),
      'application/x-www-form-urlencoded',
    );
    expect([400, 415]).toContain(res.status);
    expect((await res.json()) as ErrorJson).toMatchObject({ error: { code: expect.any(String) } });
  });

  it('limits requests per client (429 with Retry-After); another client is not held up', async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await call('POST', '/push/subscriptions', { ...browserJson(), topics: ['disaster'] }, client)).status,
      );
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    const limited = await call('DELETE', '/push/subscriptions', { endpoint: browserJson().endpoint }, client);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as ErrorJson).error.code).toBe('rate_limited');
    expect((await call('POST', '/push/subscriptions', browserJson())).status).toBe(201);
  });
});

describe('push page, service worker and manifest', () => {
  it('GET /push: Japanese first with English, labelled choices, a live region and the button, scripts from this site only', async () => {
    const res = await app.request('/push');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(PUSH_PAGE_CSP);
    expect(PUSH_PAGE_CSP).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toMatch(/^<!DOCTYPE html><html lang="ja">/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toContain('<link rel="manifest" href="/manifest.webmanifest"/>');
    expect(html).toContain('<script src="/push/app.js" defer></script></body>');
    // No inline script: the CSP would block it.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('lang="en"');
    expect(html).toMatch(
      /<button type="submit" id="subscribe" hidden="">\s*通知を受け取る <span lang="en">\/ Get notifications<\/span>/,
    );
    expect(html).toContain('id="unsubscribe"');
    expect(html).toMatch(/<p id="status" class="status" role="status" aria-live="polite">/);
    expect(html).toContain('input:focus-visible');
    // Every checkbox and radio has a label pointing at it.
    const inputs = [...html.matchAll(/<input type="(?:checkbox|radio)"[^>]* id="([^"]+)"/g)].map((m) => m[1]);
    expect(inputs.length).toBe(DEFAULT_TOPICS.length + catalogue.areas.length + 2);
    for (const id of inputs) expect(html, id).toContain(`<label for="${id}">`);
    for (const t of DEFAULT_TOPICS) expect(html).toContain(t.name);
    expect(html).toContain('隈府');
    // The default topics are ticked; the rest are not.
    expect(html).toMatch(/id="topic-disaster" value="disaster" checked=""/);
    expect(html).not.toMatch(/id="topic-events" value="events" checked/);
    // The page says emergencies reach everyone in the area whatever the topics.
    expect(html).toContain('緊急の情報（避難指示など）は、選んだ話題にかかわらず');
  });

  it('GET /push/app.js and /sw.js: JavaScript that parses, the worker allowed at the root', async () => {
    const app1 = await app.request('/push/app.js');
    expect(app1.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const pageJs = await app1.text();
    expect(() => new Script(pageJs)).not.toThrow();
    // Permission is asked only in the button's handler, then the worker, the subscription and the POST.
    const submit = pageJs.indexOf("addEventListener('submit'");
    expect(pageJs.indexOf('Notification.requestPermission')).toBeGreaterThan(submit);
    expect(pageJs.indexOf("register('/sw.js'")).toBeGreaterThan(pageJs.indexOf('Notification.requestPermission'));
    expect(pageJs.indexOf('pushManager.subscribe')).toBeGreaterThan(pageJs.indexOf("register('/sw.js'"));

    const sw = await app.request('/sw.js');
    expect(sw.status).toBe(200);
    expect(sw.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(sw.headers.get('service-worker-allowed')).toBe('/');
    const swJs = await sw.text();
    expect(() => new Script(swJs)).not.toThrow();
    for (const word of [
      "addEventListener('push'",
      'showNotification',
      "addEventListener('notificationclick'",
      'openWindow',
      'renotify',
    ]) {
      expect(swJs).toContain(word);
    }
  });

  it('GET /manifest.webmanifest: installable as 響 Hibiki of the city, with icons that are served', async () => {
    const res = await app.request('/manifest.webmanifest');
    expect(res.headers.get('content-type')).toMatch(/^application\/manifest\+json/);
    const manifest = (await res.json()) as {
      name: string;
      short_name: string;
      start_url: string;
      display: string;
      lang: string;
      icons: { src: string; sizes: string; type: string; purpose: string }[];
    };
    expect(manifest).toMatchObject({ start_url: '/push', display: 'standalone', lang: 'ja' });
    expect(manifest.name).toContain('響 Hibiki');
    expect(manifest.name).toContain('菊池市');
    expect(manifest.short_name.length).toBeLessThanOrEqual(12);
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    for (const icon of manifest.icons) {
      const img = await app.request(icon.src);
      expect(img.status, icon.src).toBe(200);
      expect(img.headers.get('content-type'), icon.src).toBe(icon.type);
      const bytes = Buffer.from(await img.arrayBuffer());
      if (icon.type === 'image/png') {
        expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
        const size = Number(icon.sizes.split('x')[0]);
        expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([size, size]);
      } else {
        expect(bytes.toString('utf8')).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      }
    }
    for (const path of ['/push/icon-180.png', '/push/badge-96.png']) {
      const img = await app.request(path);
      expect(img.headers.get('content-type'), path).toBe('image/png');
    }
  });
});
