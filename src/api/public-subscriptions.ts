import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { LOCALES } from '../domain/notice.ts';
import { clientAddress } from '../http/client-address.ts';
import { ApiError, ErrorBody } from '../http/errors.ts';
import type { ResidentService } from '../services/residents.ts';
import { createRouter, errorResponses } from './router.ts';

export interface PublicSubscriptionDeps {
  residents: Pick<ResidentService, 'normalise' | 'requestSignup'>;
  clientOf?: (c: Context) => string;
}

const SignupBody = z
  .strictObject({
    email: z.string().max(254).openapi({ example: 'taro@example.jp' }),
    topics: z
      .array(z.string().max(50))
      .max(50)
      .default([])
      .openapi({ description: '空なら緊急の情報のみ / empty: emergencies only', example: ['disaster', 'weather'] }),
    areas: z
      .array(z.string().max(40))
      .max(100)
      .default([])
      .openapi({ description: '空なら市全域 / empty: the whole city', example: [] }),
    locale: z.enum(LOCALES).default('ja'),
  })
  .openapi('PublicSignup');

const Accepted = z
  .object({
    status: z.literal('accepted'),
    message: z.string(),
    message_en: z.string(),
  })
  .openapi('PublicSignupAccepted');

/** The one answer to every valid request: it must not say whether the address was known. */
const ACCEPTED = {
  status: 'accepted' as const,
  message:
    '入力されたアドレスにメールをお送りします。新しい登録なら確認のリンクを、登録済みなら変更用のリンクをお送りします。',
  message_en:
    'An e-mail is on its way to the address: a confirmation link for a new subscription, or a manage link for an existing one.',
};

/**
 * POST /v1/public/subscriptions: the sign-up form for apps. No token; rate limited per
 * address and per client like the page. 202 for every valid request, known address or
 * not; 429 (with Retry-After) over the limit, and then no mail is sent.
 */
export function createPublicSubscriptionRoutes(deps: PublicSubscriptionDeps) {
  const app = createRouter();
  const clientOf = deps.clientOf ?? clientAddress;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/public/subscriptions',
      tags: ['residents'],
      summary: 'メール配信の申し込み（住民向け） / Sign up for alert e-mails (public)',
      description:
        '確認メールを送ります。アドレスが登録済みかどうかにかかわらず同じ応答です。 / Sends a confirmation e-mail; the answer is the same whether or not the address is subscribed.',
      request: { body: { content: { 'application/json': { schema: SignupBody } }, required: true } },
      responses: {
        202: { description: '受け付けた / Accepted', content: { 'application/json': { schema: Accepted } } },
        ...errorResponses(400, 415),
        429: {
          description: '短時間に申し込みが多すぎる / Too many requests',
          content: { 'application/json': { schema: ErrorBody } },
        },
      },
    }),
    async (c) => {
      const request = deps.residents.normalise(c.req.valid('json'));
      const result = await deps.residents.requestSignup(request, clientOf(c));
      if (result.outcome === 'limited') {
        throw new ApiError(
          429,
          'rate_limited',
          {
            ja: `短い間に申し込みが多すぎます。${Math.ceil(result.retryAfterSeconds / 60)} 分ほど待ってから、もう一度お試しください`,
            en: `Too many sign-up requests; try again in about ${Math.ceil(result.retryAfterSeconds / 60)} minute(s)`,
          },
          { headers: { 'Retry-After': String(result.retryAfterSeconds) } },
        );
      }
      return c.json(ACCEPTED, 202);
    },
  );

  return app;
}
