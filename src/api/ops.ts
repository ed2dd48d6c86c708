import { createRoute, z } from '@hono/zod-openapi';
import { CHANNEL_WORD } from '../../channels/catalog.ts';
import type { Deps } from '../deps.ts';
import { jstWords } from '../domain/jst.ts';
import { type ChannelDown, createChannelStates } from '../queue/channel-state.ts';
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

const ChannelState = z.union([
  z.object({ status: z.literal('up') }),
  z.object({
    status: z.literal('down'),
    since: z.string().openapi({ description: 'ISO 8601, UTC: the first failure of this outage' }),
    lastFailureAt: z.string(),
    reason: z.string(),
  }),
]);
const Channels = z.record(z.string(), ChannelState).openapi({
  description:
    '有効なチャネルごとの配信先の状態 / Each enabled channel: up, or down since when and why (its deliveries wait, spending no attempts)',
});

export type OpsDeps = Pick<Deps, 'redis' | 'store' | 'metrics' | 'logger' | 'config' | 'channels'>;

/** Liveness, readiness and Prometheus metrics; no token, so probes and scrapers need no secret. */
export function createOpsRoutes(deps: OpsDeps, options: { readyTimeoutMs?: number } = {}) {
  const app = createRouter();
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const states = createChannelStates(deps.redis, deps.config.queuePrefix);

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
      description:
        'A channel whose provider is down (the SMTP relay, LINE, X) does not make the process unready: it still takes ' +
        'notices, and its other channels deliver. It answers 200 with status "degraded" and the channel under `channels`.',
      responses: {
        200: {
          description:
            '準備完了（degraded: 配信先が止まっているチャネルがある） / Ready (degraded: a channel’s provider is down)',
          content: {
            'application/json': {
              schema: z.object({
                status: z.enum(['ok', 'degraded']),
                message: z.string().optional(),
                message_en: z.string().optional(),
                checks: Checks,
                channels: Channels,
              }),
            },
          },
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
      let down: ChannelDown[] | undefined;
      const [redis, store] = await Promise.all([
        check(() => deps.redis.ping(), timeoutMs),
        // Able to write, not only to read: a SQLite write lock held elsewhere leaves reads working.
        check(() => deps.store.probe(), timeoutMs),
        check(async () => {
          down = await states.list(deps.channels.ids());
        }, timeoutMs),
      ]);
      const checks = { redis, store };
      const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
      if (failing.length === 0) {
        const downs = down ?? [];
        const channels = Object.fromEntries(
          deps.channels.ids().map((id) => {
            const d = downs.find((x) => x.channel === id);
            return [
              id,
              d
                ? {
                    status: 'down' as const,
                    since: d.since.toISOString(),
                    lastFailureAt: d.lastFailureAt.toISOString(),
                    reason: d.reason,
                  }
                : { status: 'up' as const },
            ];
          }),
        );
        if (downs.length === 0) return c.json({ status: 'ok' as const, checks, channels }, 200);
        const ja = downs.map((d) => `${CHANNEL_WORD[d.channel].ja}（${jstWords(d.since).ja} から）`).join('、');
        const en = downs.map((d) => `${CHANNEL_WORD[d.channel].en} (since ${jstWords(d.since).en})`).join(', ');
        return c.json(
          {
            status: 'degraded' as const,
            message: `配信先が止まっているチャネルがあります: ${ja}。配信は再開を待っています`,
            message_en: `Delivery is down on: ${en}; its deliveries wait for the provider, spending no attempts`,
            checks,
            channels,
          },
          200,
        );
      }
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
