import { createHash, createPublicKey } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  DEFAULT_PUSH_HOSTS,
  normalisedEndpoint,
  pushEndpointProblem,
  pushHostOf,
} from '../../channels/webpush/endpoint-policy.ts';
import type { FieldErrors } from '../domain/bilingual.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import { LOCALES } from '../domain/notice.ts';
import { clientAddress } from '../http/client-address.ts';
import { ApiError } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import type { RateLimiter } from '../queue/rate-limit.ts';
import type { PushSubscriptionRepo } from '../store/push-subscriptions.ts';
import { createRouter, errorResponses } from './router.ts';
export interface PushRoutesDeps {
  subscriptions: Pick<PushSubscriptionRepo, 'subscribe' | 'unsubscribe' | 'choices'>;
  catalogue: Catalogue;
  /** The VAPID key pair in use (src/store/vapid.ts createVapidResolver); only the public half is served. */
  vapidKeys: () => Promise<{ publicKey: string }>;
  logger: Logger;
  /** Push service hosts an endpoint may point to; DEFAULT_PUSH_HOSTS unless given (tests add 127.0.0.1). */
  allowedHosts?: readonly string[];
  /** Per-client limit on subscribe, change and unsubscribe requests; none when absent. */
  rateLimit?: { limiter: RateLimiter; perClient: number; windowSeconds: number };
  /** The client's address for the rate limit; default: clientAddress (the proxy-aware peer address). */
  clientOf?: (c: Context) => string;
}

const Endpoint = z.string().min(1).max(4_000).openapi({
  description: 'PushSubscription.endpoint（ブラウザーのプッシュサービスの https URL） / the push service URL',
  example: 'https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH…',
});

const SubscriptionBody = z
  .strictObject({
    endpoint: Endpoint,
    expirationTime: z
      .number()
      .nullable()
      .optional()
      .openapi({ description: 'ブラウザーが付ける値。使わない / ignored' }),
    keys: z.object({
      p256dh: z.string().max(200).openapi({ description: 'base64url, 65 バイト / 65 bytes', example: 'BNcRdreALRFX…' }),
      auth: z
        .string()
        .max(50)
        .openapi({ description: 'base64url, 16 バイト / 16 bytes', example: 'tBHItJI5svbpez7KI4CCXg' }),
    }),
    topics: z
      .array(z.string().min(1).max(50))
      .max(100)
      .default([])
      .openapi({ description: '話題。空なら緊急情報のみ / topics; empty: emergencies only', example: ['disaster'] }),
    areas: z
      .array(z.string().min(1).max(50))
      .max(500)
      .default([])
      .openapi({ description: '地域コード。空なら市内全域 / area codes; empty: the whole city', example: [] }),
    locale: z.enum(LOCALES).default('ja'),
  })
  .openapi('PushSubscriptionCreate');

const EndpointBody = z.strictObject({ endpoint: Endpoint }).openapi('PushSubscriptionRef');

const Choices = z
  .object({
    topics: z.array(z.string()),
    areas: z.array(z.string()),
    locale: z.enum(LOCALES),
  })
  .openapi('PushChoices');

const PublicKey = z
  .object({ publicKey: z.string().openapi({ description: 'applicationServerKey (base64url)' }) })
  .openapi('VapidPublicKey');

const B64URL = /^[A-Za-z0-9_-]+$/;

/** base64url without padding; browsers send none, but a padded value is the same key. */
const unpad = (s: string) => s.replace(/=+$/, '');

/** The browser's key must be a point on P-256, or nothing can be encrypted for it. */
function p256dhProblem(value: string): FieldErrors[string] | undefined {
  const bytes = B64URL.test(value) ? Buffer.from(value, 'base64url') : undefined;
  const bad = [
    {
      ja: 'p256dh: P-256 の公開鍵（base64url、65 バイト）ではありません',
      en: 'p256dh: not a P-256 public key (base64url, 65 bytes)',
    },
  ];
  if (bytes?.length !== 65 || bytes[0] !== 0x04) return bad;
  try {
    createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: bytes.subarray(1, 33).toString('base64url'),
        y: bytes.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return bad;
  }
  return undefined;
}

function authProblem(value: string): FieldErrors[string] | undefined {
  if (B64URL.test(value) && Buffer.from(value, 'base64url').length === 16) return undefined;
  return [{ ja: 'auth: 16 バイトの base64url ではありません', en: 'auth: not 16 bytes of base64url' }];
}

function badFields(fields: FieldErrors): ApiError {
  const names = Object.keys(fields);
  return new ApiError(
    400,
    'validation_failed',
    { ja: `入力内容に誤りがあります: ${names.join(', ')}`, en: `Invalid input: ${names.join(', ')}` },
    { fields },
  );
}

/**
 * The public Web Push API the push page (src/web/push-page.tsx) calls:
 *   GET    /push/vapid-public-key       the applicationServerKey for PushManager.subscribe
 *   POST   /push/subscriptions          the browser's PushSubscription JSON + topics, areas, locale → 201
 *   POST   /push/subscriptions/current  {endpoint} → what that subscription chose (404 when unknown)
 *   DELETE /push/subscriptions          {endpoint} → 204, whether or not it was known
 * The endpoint is the capability: only the browser that holds it can change or stop it.
 */
export function createPushRoutes(deps: PushRoutesDeps) {
  const app = createRouter();
  const logger = deps.logger.child({ component: 'push-api' });
  const allowedHosts = deps.allowedHosts ?? DEFAULT_PUSH_HOSTS;
  const topicIds = new Set(deps.catalogue.topics.map((t) => t.id));
  const areaCodes = new Set(deps.catalogue.areas.map((a) => a.code));
  const clientOf = deps.clientOf ?? clientAddress;
  let publicKey: string | undefined;

  /** Counts the request against its client; a 429 with Retry-After once over. Addresses are hashed before Redis sees them. */
  async function limit(c: Context): Promise<void> {
    if (!deps.rateLimit) return;
    const { limiter, perClient, windowSeconds } = deps.rateLimit;
    const client = createHash('sha256').update(clientOf(c)).digest('base64url').slice(0, 22);
    const hit = await limiter.hit(`client:${client}`, perClient, windowSeconds);
    if (hit.allowed) return;
    logger.info({ count: hit.count }, 'push request over the per-client rate limit');
    throw new ApiError(
      429,
      'rate_limited',
      {
        ja: `短い間に操作が多すぎます。${Math.ceil(hit.retryAfterSeconds / 60)} 分ほど待ってから、もう一度お試しください`,
        en: `Too many requests; try again in about ${Math.ceil(hit.retryAfterSeconds / 60)} minute(s)`,
      },
      { headers: { 'Retry-After': String(hit.retryAfterSeconds) } },
    );
  }

  function endpointProblem(endpoint: string): FieldErrors[string] | undefined {
    const problem = pushEndpointProblem(endpoint, allowedHosts);
    return problem ? [problem] : undefined;
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/push/vapid-public-key',
      tags: ['push'],
      summary: 'VAPID 公開鍵 / The VAPID public key',
      description:
        'PushManager.subscribe の applicationServerKey に使う。 / Use as applicationServerKey in PushManager.subscribe.',
      responses: {
        200: { description: '公開鍵 / The key', content: { 'application/json': { schema: PublicKey } } },
        ...errorResponses(503),
      },
    }),
    async (c) => {
      publicKey ??= (await deps.vapidKeys()).publicKey;
      c.header('Cache-Control', 'no-cache');
      return c.json({ publicKey }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/push/subscriptions',
      tags: ['push'],
      summary: 'プッシュ通知を登録・変更する / Subscribe a browser, or change its choices',
      description:
        'ブラウザーの PushSubscription.toJSON() に topics, areas, locale を加えて送る。同じ endpoint なら選択を置き換える。緊急の通知は話題にかかわらず届く。 / The browser’s PushSubscription.toJSON() plus topics, areas and locale; the same endpoint again replaces its choices. Emergencies arrive whatever the topics.',
      request: { body: { content: { 'application/json': { schema: SubscriptionBody } }, required: true } },
      responses: {
        201: { description: '登録した / Subscribed', content: { 'application/json': { schema: Choices } } },
        ...errorResponses(400, 413, 415),
        429: { description: '操作が多すぎる / Too many requests' },
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await limit(c);
      const keys = { p256dh: unpad(body.keys.p256dh), auth: unpad(body.keys.auth) };
      const problems: FieldErrors = {};
      const endpoint = endpointProblem(body.endpoint);
      if (endpoint) problems.endpoint = endpoint;
      const keyProblems = [...(p256dhProblem(keys.p256dh) ?? []), ...(authProblem(keys.auth) ?? [])];
      if (keyProblems.length > 0) problems.keys = keyProblems;
      const unknownTopics = body.topics.filter((t) => !topicIds.has(t));
      if (unknownTopics.length > 0) {
        const known = [...topicIds].join(', ');
        problems.topics = [
          {
            ja: `選べる話題ではありません: ${unknownTopics.join(', ')}（選べるもの: ${known}）`,
            en: `not a topic on offer: ${unknownTopics.join(', ')} (choose from ${known})`,
          },
        ];
      }
      const unknownAreas = body.areas.filter((a) => !areaCodes.has(a));
      if (unknownAreas.length > 0) {
        const known = [...areaCodes].join(', ');
        problems.areas = [
          {
            ja: `この市の地域ではありません: ${unknownAreas.join(', ')}（選べるもの: ${known}）`,
            en: `not an area of this city: ${unknownAreas.join(', ')} (choose from ${known})`,
          },
        ];
      }
      if (Object.keys(problems).length > 0) throw badFields(problems);

      const topics = [...new Set(body.topics)].sort();
      const areas = [...new Set(body.areas)].sort();
      const contactId = await deps.subscriptions.subscribe({
        // As checked: the stored endpoint is the one WHATWG URL read, never the raw text.
        endpoint: normalisedEndpoint(body.endpoint),
        ...keys,
        topics,
        areas,
        locale: body.locale,
      });
      // The push service's host and the contact id: never the endpoint, which identifies the browser.
      logger.info(
        { contactId, host: pushHostOf(body.endpoint), topics: topics.length, areas: areas.length },
        'push subscription saved',
      );
      c.header('Cache-Control', 'no-store');
      return c.json({ topics, areas, locale: body.locale }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/push/subscriptions/current',
      tags: ['push'],
      summary: '登録中の選択 / What a subscription chose',
      description:
        'ページを開き直したとき、その端末の選択を表示するために使う。 / The page shows a returning device its choices.',
      request: { body: { content: { 'application/json': { schema: EndpointBody } }, required: true } },
      responses: {
        200: { description: '選択 / The choices', content: { 'application/json': { schema: Choices } } },
        ...errorResponses(400, 404, 415),
      },
    }),
    async (c) => {
      const endpoint = normalisedEndpoint(c.req.valid('json').endpoint);
      c.header('Cache-Control', 'no-store');
      const choices = await deps.subscriptions.choices(endpoint);
      if (!choices?.active) {
        throw new ApiError(404, 'not_found', {
          ja: 'この端末の登録は見つかりません',
          en: 'No subscription for this device',
        });
      }
      return c.json({ topics: choices.topics, areas: choices.areas, locale: choices.locale }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/push/subscriptions',
      tags: ['push'],
      summary: 'プッシュ通知を止める / Unsubscribe a browser',
      description:
        '登録と選択を削除する。登録がなくても 204。 / Deletes the subscription and its choices; 204 whether or not it was known.',
      request: { body: { content: { 'application/json': { schema: EndpointBody } }, required: true } },
      responses: {
        204: { description: '止めた / Stopped' },
        ...errorResponses(400, 415),
        429: { description: '操作が多すぎる / Too many requests' },
      },
    }),
    async (c) => {
      const endpoint = normalisedEndpoint(c.req.valid('json').endpoint);
      await limit(c);
      const removed = await deps.subscriptions.unsubscribe(endpoint);
      if (removed) logger.info({ host: pushHostOf(endpoint) }, 'push subscription removed');
      c.header('Cache-Control', 'no-store');
      return c.body(null, 204);
    },
  );

  return app;
}
