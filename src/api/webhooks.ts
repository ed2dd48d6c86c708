import { createRoute, z } from '@hono/zod-openapi';
import { createAddressPolicy } from '../../channels/shared/address-policy.ts';
import { hostOf, webhookAllow, webhookUrlProblem } from '../../channels/webhook/url-policy.ts';
import type { Config } from '../config.ts';
import type { FieldErrors } from '../domain/bilingual.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import { SEVERITIES } from '../domain/notice.ts';
import { requireRole } from '../http/auth.ts';
import { ApiError, notFoundError } from '../http/errors.ts';
import type { AuditRepo } from '../store/audit.ts';
import type { TokenRepo } from '../store/tokens.ts';
import {
  type WebhookEndpoint,
  type WebhookEndpointChanges,
  type WebhookEndpointRepo,
  WebhookUrlTakenError,
} from '../store/webhook-endpoints.ts';
import { AreaCode } from './fields.ts';
import { bearer, createRouter, errorResponses } from './router.ts';

const Severity = z.enum(SEVERITIES);

const WebhookOut = z
  .object({
    id: z.number().int(),
    name: z.string(),
    url: z.string(),
    topics: z.array(z.string()).openapi({ description: '空ならすべての話題 / empty: every topic' }),
    areas: z.array(z.string()).openapi({ description: '空なら市全域 / empty: the whole city' }),
    minSeverity: Severity,
    active: z.boolean(),
    deactivatedReason: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookEndpoint');

const fields = {
  name: z.string().trim().min(1).max(100).openapi({ example: '市ホームページ CMS' }),
  url: z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .openapi({ description: 'https:// のみ / https:// only', example: 'https://cms.city.example.jp/hooks/hibiki' }),
  topics: z
    .array(z.string().min(1).max(50))
    .max(50)
    .openapi({ description: '空ならすべての話題 / empty: every topic', example: ['disaster', 'shelter'] }),
  areas: z.array(AreaCode).max(500).openapi({
    description: 'JIS X 0402 団体コード。空なら市全域 / JIS X 0402 codes; empty: the whole city',
    example: [],
  }),
  minSeverity: Severity.openapi({
    description: 'この重要度以上の通知を送る（既定 info） / notices at or above this severity (default info)',
  }),
};

const WebhookCreate = z
  .strictObject({
    name: fields.name,
    url: fields.url,
    topics: fields.topics.default([]),
    areas: fields.areas.default([]),
    minSeverity: fields.minSeverity.default('info'),
  })
  .openapi('WebhookEndpointCreate');

const WebhookUpdate = z
  .strictObject({
    name: fields.name.optional(),
    url: fields.url.optional(),
    topics: fields.topics.optional(),
    areas: fields.areas.optional(),
    minSeverity: fields.minSeverity.optional(),
    active: z.boolean().optional().openapi({ description: 'false で配信を止める / false stops deliveries' }),
  })
  .openapi('WebhookEndpointUpdate');

const secretField = z.string().openapi({
  description:
    'Standard Webhooks の署名鍵。この一度だけ表示される / the Standard Webhooks signing secret, shown this once only',
  example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
});

const WebhookCreated = WebhookOut.extend({ secret: secretField }).openapi('WebhookEndpointCreated');

const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, example: 12 }),
});

export interface WebhookRoutesDeps {
  tokens: Pick<TokenRepo, 'check'>;
  webhooks: WebhookEndpointRepo;
  audit: Pick<AuditRepo, 'record'>;
  catalogue: Catalogue;
  config: Pick<Config, 'webhook'> & Partial<Pick<Config, 'outbound'>>;
}

const notFound = (id: number) => notFoundError({ ja: `Webhook エンドポイント ${id} `, en: `Webhook endpoint ${id}` });

function badFields(fieldErrors: FieldErrors): ApiError {
  const names = Object.keys(fieldErrors);
  return new ApiError(
    400,
    'validation_failed',
    { ja: `入力内容に誤りがあります: ${names.join(', ')}`, en: `Invalid input: ${names.join(', ')}` },
    { fields: fieldErrors },
  );
}

function urlTaken(err: WebhookUrlTakenError): ApiError {
  const which = err.existingId === undefined ? '' : ` ${err.existingId}`;
  return new ApiError(
    409,
    'webhook_url_taken',
    {
      ja: `この URL は Webhook エンドポイント${which}が使っています`,
      en: `This URL is already used by webhook endpoint${which}`,
    },
    { fields: { url: [{ ja: '他のエンドポイントと同じ URL です', en: 'the same URL as another endpoint' }] } },
  );
}

/** What the audit log keeps of a change: never the secret, and of the URL only its host. */
function auditDetail(change: Partial<WebhookEndpointChanges & { name: string }>): Record<string, unknown> {
  const { url, ...rest } = change;
  return url === undefined ? rest : { ...rest, host: hostOf(url) };
}

/**
 * Admin API for outbound webhook endpoints. The signing secret is shown once, when an
 * endpoint is made or its secret rotated; lists and the audit log never hold it.
 */
export function createWebhookRoutes(deps: WebhookRoutesDeps) {
  const { webhooks, audit, catalogue } = deps;
  const app = createRouter();
  const admin = requireRole(deps.tokens, 'admin');
  const topicIds = new Set(catalogue.topics.map((t) => t.id));
  const areaCodes = new Set(catalogue.areas.map((a) => a.code));

  // The same addresses as the channel will allow when it sends (OUTBOUND_ALLOW, and loopback with WEBHOOK_ALLOW_HTTP_LOOPBACK).
  const policy = createAddressPolicy(
    webhookAllow({ allowHttpLoopback: deps.config.webhook.allowHttpLoopback, allow: deps.config.outbound?.allow }),
  );

  /** Checks what zod cannot: the URL policy and the catalogue. */
  function check(input: { url?: string | undefined; topics?: string[] | undefined; areas?: string[] | undefined }) {
    const problems: FieldErrors = {};
    if (input.url !== undefined) {
      const problem = webhookUrlProblem(input.url, deps.config.webhook.allowHttpLoopback, policy);
      if (problem) problems.url = [problem];
    }
    const unknownTopics = (input.topics ?? []).filter((t) => !topicIds.has(t));
    if (unknownTopics.length > 0) {
      const known = [...topicIds].join(', ');
      problems.topics = [
        {
          ja: `不明な話題です: ${unknownTopics.join(', ')}（使えるもの: ${known}）`,
          en: `unknown topic(s): ${unknownTopics.join(', ')} (known: ${known})`,
        },
      ];
    }
    const unknownAreas = (input.areas ?? []).filter((a) => !areaCodes.has(a));
    if (unknownAreas.length > 0) {
      const known = [...areaCodes].join(', ');
      problems.areas = [
        {
          ja: `この市の地区ではありません: ${unknownAreas.join(', ')}（使えるもの: ${known}）`,
          en: `not an area of this city: ${unknownAreas.join(', ')} (known: ${known})`,
        },
      ];
    }
    if (Object.keys(problems).length > 0) throw badFields(problems);
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks',
      tags: ['webhooks'],
      summary: 'Webhook エンドポイントの一覧 / List webhook endpoints',
      security: bearer,
      middleware: [admin] as const,
      responses: {
        200: {
          description: '一覧（署名鍵は含まない） / Endpoints, without their secrets',
          content: { 'application/json': { schema: z.object({ items: z.array(WebhookOut) }) } },
        },
        ...errorResponses(401, 403),
      },
    }),
    async (c) => c.json({ items: await webhooks.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks/{id}',
      tags: ['webhooks'],
      summary: 'Webhook エンドポイント / One webhook endpoint',
      security: bearer,
      middleware: [admin] as const,
      request: { params: IdParam },
      responses: {
        200: { description: 'エンドポイント / The endpoint', content: { 'application/json': { schema: WebhookOut } } },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const endpoint = await webhooks.get(id);
      if (!endpoint) throw notFound(id);
      return c.json(endpoint, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks',
      tags: ['webhooks'],
      summary: 'Webhook エンドポイントを作る / Create a webhook endpoint',
      description:
        '通知の各版を JSON で POST し、Standard Webhooks の方式で署名する。署名鍵はこの応答で一度だけ表示される。 / Each notice revision is POSTed as JSON, signed as Standard Webhooks specifies; the secret is shown in this answer only.',
      security: bearer,
      middleware: [admin] as const,
      request: { body: { content: { 'application/json': { schema: WebhookCreate } }, required: true } },
      responses: {
        201: { description: '作成した / Created', content: { 'application/json': { schema: WebhookCreated } } },
        ...errorResponses(400, 401, 403, 409, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid('json');
      check(input);
      const actor = c.get('staff').name;
      let created: { id: number; secret: string };
      try {
        created = await webhooks.create({ ...input, createdBy: actor });
      } catch (err) {
        if (err instanceof WebhookUrlTakenError) throw urlTaken(err);
        throw err;
      }
      const endpoint = await webhooks.get(created.id);
      if (!endpoint) throw notFound(created.id);
      await audit.record(
        actor,
        'webhook.create',
        String(created.id),
        auditDetail({
          name: input.name,
          url: input.url,
          topics: input.topics,
          areas: input.areas,
          minSeverity: input.minSeverity,
        }),
      );
      c.header('Cache-Control', 'no-store');
      return c.json({ ...endpoint, secret: created.secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/webhooks/{id}',
      tags: ['webhooks'],
      summary: 'Webhook エンドポイントを変える / Change a webhook endpoint',
      security: bearer,
      middleware: [admin] as const,
      request: {
        params: IdParam,
        body: { content: { 'application/json': { schema: WebhookUpdate } }, required: true },
      },
      responses: {
        200: { description: '変更後 / As changed', content: { 'application/json': { schema: WebhookOut } } },
        ...errorResponses(400, 401, 403, 404, 409, 415),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const changes: WebhookEndpointChanges = Object.fromEntries(
        Object.entries(body).filter(([, v]) => v !== undefined),
      ) as WebhookEndpointChanges;
      if (Object.keys(changes).length === 0) {
        throw new ApiError(400, 'nothing_to_change', {
          ja: '変更する項目がありません（name, url, topics, areas, minSeverity, active のいずれかを送ってください）',
          en: 'Nothing to change: send at least one of name, url, topics, areas, minSeverity, active',
        });
      }
      check(changes);
      let endpoint: WebhookEndpoint | undefined;
      try {
        endpoint = await webhooks.update(id, changes);
      } catch (err) {
        if (err instanceof WebhookUrlTakenError) throw urlTaken(err);
        throw err;
      }
      if (!endpoint) throw notFound(id);
      await audit.record(c.get('staff').name, 'webhook.update', String(id), auditDetail(changes));
      return c.json(endpoint, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks/{id}/rotate-secret',
      tags: ['webhooks'],
      summary: '署名鍵を作り直す / Rotate the signing secret',
      description:
        '新しい鍵はすぐに使われ、古い鍵で検証する受信側は 401 を返すようになる。 / The new secret is used at once; a receiver still verifying with the old one starts answering 401.',
      security: bearer,
      middleware: [admin] as const,
      request: { params: IdParam },
      responses: {
        200: {
          description: '新しい署名鍵 / The new secret',
          content: {
            'application/json': {
              schema: z.object({ id: z.number().int(), secret: secretField }).openapi('WebhookSecret'),
            },
          },
        },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const secret = await webhooks.rotateSecret(id);
      if (secret === undefined) throw notFound(id);
      await audit.record(c.get('staff').name, 'webhook.rotate-secret', String(id));
      c.header('Cache-Control', 'no-store');
      return c.json({ id, secret }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/webhooks/{id}',
      tags: ['webhooks'],
      summary: 'Webhook エンドポイントを削除する / Delete a webhook endpoint',
      description:
        '配信記録は残る。未送信の配信は送られない。 / Its delivery records stay; deliveries not yet sent are skipped.',
      security: bearer,
      middleware: [admin] as const,
      request: { params: IdParam },
      responses: {
        200: {
          description: '削除した / Deleted',
          content: {
            'application/json': { schema: z.object({ id: z.number().int(), deleted: z.literal(true) }) },
          },
        },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const endpoint = await webhooks.get(id);
      if (!endpoint || !(await webhooks.remove(id))) throw notFound(id);
      await audit.record(c.get('staff').name, 'webhook.delete', String(id), {
        name: endpoint.name,
        host: hostOf(endpoint.url),
      });
      return c.json({ id, deleted: true as const }, 200);
    },
  );

  return app;
}
