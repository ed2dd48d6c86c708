import { createRoute, z } from '@hono/zod-openapi';
import { STAFF_ROLES } from '../domain/staff.ts';
import { requireRole } from '../http/auth.ts';
import { TOKEN_NAME_MAX, type TokenService } from '../services/tokens.ts';
import type { TokenRepo } from '../store/tokens.ts';
import { bearer, createRouter, errorResponses } from './router.ts';

const Role = z.enum(STAFF_ROLES);

const TokenOut = z
  .object({
    id: z.number().int(),
    name: z.string(),
    role: Role,
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    kind: z.enum(['token', 'oidc']).openapi({
      description: 'oidc: 自治体のアカウントでサインインする職員 / a person signing in with the city account',
    }),
  })
  .openapi('StaffToken');

const TokenCreate = z
  .strictObject({
    name: z.string().trim().min(1).max(TOKEN_NAME_MAX).openapi({ example: '防災課 山田' }),
    role: Role,
    // Checked by the token service, so a bad one is named like the other fields.
    expiresAt: z.string().optional().openapi({
      description: '有効期限（省略時は失効させるまで） / expiry (ISO date or date-time; none: until revoked)',
      example: '2027-03-31T17:00:00+09:00',
    }),
  })
  .openapi('StaffTokenCreate');

const TokenCreated = z
  .object({
    id: z.number().int(),
    name: z.string(),
    role: Role,
    expiresAt: z.string().nullable(),
    token: z.string().openapi({ description: 'この一度だけ表示される / shown this once only' }),
  })
  .openapi('StaffTokenCreated');

export interface TokenRoutesDeps {
  /** For the bearer check of the admin role. */
  tokens: TokenRepo;
  service: TokenService;
}

/** Admin API for staff tokens. A token is shown once, at creation; only its hash is stored. */
export function createTokenRoutes({ tokens, service }: TokenRoutesDeps) {
  const app = createRouter();
  const admin = requireRole(tokens, 'admin');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tokens',
      tags: ['tokens'],
      summary: 'トークンの一覧 / List staff tokens',
      security: bearer,
      middleware: [admin] as const,
      responses: {
        200: {
          description: '一覧 / Tokens',
          content: { 'application/json': { schema: z.object({ items: z.array(TokenOut) }) } },
        },
        ...errorResponses(401, 403),
      },
    }),
    async (c) => c.json({ items: await service.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tokens',
      tags: ['tokens'],
      summary: 'トークンを作る / Create a staff token',
      security: bearer,
      middleware: [admin] as const,
      request: { body: { content: { 'application/json': { schema: TokenCreate } }, required: true } },
      responses: {
        201: { description: '作成した / Created', content: { 'application/json': { schema: TokenCreated } } },
        ...errorResponses(400, 401, 403, 409, 415),
      },
    }),
    async (c) => {
      const created = await service.create(c.get('staff'), c.req.valid('json'));
      c.header('Cache-Control', 'no-store');
      return c.json(created, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/tokens/{id}',
      tags: ['tokens'],
      summary: 'トークンを失効させる / Revoke a staff token',
      security: bearer,
      middleware: [admin] as const,
      request: {
        params: z.object({
          id: z.coerce
            .number()
            .int()
            .min(1)
            .openapi({ param: { name: 'id', in: 'path' }, example: 3 }),
        }),
      },
      responses: {
        200: {
          description: '失効した / Revoked',
          content: { 'application/json': { schema: z.object({ id: z.number().int(), revoked: z.literal(true) }) } },
        },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await service.revoke(c.get('staff'), id);
      return c.json({ id, revoked: true as const }, 200);
    },
  );

  return app;
}
