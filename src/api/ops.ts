import { createRoute, z } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { createRouter } from './router.ts';

/** How long a dependency may take to answer before the process is reported not ready. */
export const READY_TIMEOUT_MS = 2_000;

type CheckResult = 'ok' | 'timeout' | 'error';

async function check(what: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([what().then((): CheckResult => 'ok'), timeout]);
  } catch {
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

const Checks = z.object({ redis: z.enum(['ok', 'timeout', 'error']), store: z.enum(['ok', 'timeout', 'error']) });

export type OpsDeps = Pick<Deps, 'redis' | 'store' | 'metrics' | 'logger'>;

/** Liveness, readiness and Prometheus metrics; no token, so probes and scrapers need no secret. */
export function createOpsRoutes(deps: OpsDeps, options: { readyTimeoutMs?: number } = {}) {
  const app = createRouter();
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      summary: 'プロセスが動いている / The process is alive',
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
      },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'Redis とストアが応答し、ストアに書き込める / Redis and the store answer, and the store takes writes',
      responses: {
        200: {
          description: '準備完了 / Ready',
          content: { 'application/json': { schema: z.object({ status: z.literal('ok'), checks: Checks }) } },
        },
        503: {
          description: '応答しない依存先がある / A dependency does not answer',
          content: {
            'application/json': {
              schema: z.object({
                status: z.literal('unavailable'),
                message: z.string(),
                message_en: z.string(),
                checks: Checks,
              }),
            },
          },
        },
      },
    }),
    async (c) => {
      const [redis, store] = await Promise.all([
        check(() => deps.redis.ping(), timeoutMs),
        // Able to write, not only to read: a SQLite write lock held elsewhere leaves reads working.
        check(() => deps.store.db.probe(), timeoutMs),
      ]);
      const checks = { redis, store };
      const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
      if (failing.length === 0) return c.json({ status: 'ok' as const, checks }, 200);
      const names = failing.map(([k, v]) => `${k} (${v})`).join(', ');
      deps.logger.warn({ checks }, 'not ready');
      return c.json(
        {
          status: 'unavailable' as const,
          message: `応答しない依存先があります: ${names}`,
          message_en: `Not ready: ${names}`,
          checks,
        },
        503,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      summary: 'Prometheus メトリクス / Prometheus metrics',
      responses: {
        200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: z.string() } } },
      },
    }),
    async (c) => {
      const body = await deps.metrics.registry.metrics();
      return c.text(body, 200, { 'Content-Type': deps.metrics.registry.contentType });
    },
  );

  return app;
}
