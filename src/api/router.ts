import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/auth.ts';
import { ErrorBody, validationHook } from '../http/errors.ts';

/** A sub-app whose zod failures become our 400 body. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

const DESCRIPTIONS: Record<number, string> = {
  400: '入力の誤り（項目と理由つき） / Invalid input, with the field and the reason',
  401: 'トークンがない、正しくない、失効、または期限切れ / Missing, invalid, revoked or expired token',
  403: '権限が足りない（必要な役割つき） / The token lacks the role needed',
  404: '見つからない / Not found',
  409: '状態と矛盾する操作 / Conflicts with the current state',
  413: '本文が大きすぎる / Body too large',
  415: 'Content-Type が違う / Unsupported Content-Type',
  422: 'Idempotency-Key が別の内容に使われている / Idempotency-Key reused with another body',
  503: '依存先が応答しない / A dependency is unavailable',
};

/** OpenAPI entries for the error statuses a route can answer. */
export function errorResponses<S extends keyof typeof DESCRIPTIONS>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: DESCRIPTIONS[s] ?? 'Error', content: { 'application/json': { schema: ErrorBody } } },
    ]),
  ) as Record<S, { description: string; content: { 'application/json': { schema: typeof ErrorBody } } }>;
}

export const bearer = [{ bearer: [] }];
